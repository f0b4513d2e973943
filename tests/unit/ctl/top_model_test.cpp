#include "daemon/ctl/top_model.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using nlohmann::json;
using sb::ctl::TopModel;

namespace {

json event(const std::string& name, uint64_t seq, const std::string& userId, json data) {
  json e{{"event", name}, {"seq", seq}, {"data", std::move(data)}};
  if (!userId.empty()) e["userId"] = userId;
  return e;
}

TopModel loaded() {
  TopModel m;
  m.loadQueues(json{{"queues", {{{"skillGroup", "sales"}, {"name", "Sales"}, {"waiting", 0}, {"oldestWaitMs", 0}}}}},
               1000);
  m.loadAgents(json{{"agents",
                     {{{"userId", "alice"},
                       {"name", "Alice"},
                       {"extensionId", "1001"},
                       {"status", "notReady"},
                       {"statusDurationMs", 500}}}}},
               1000);
  m.loadSessions(json{{"sessions", json::array()}}, 50000);
  return m;
}

json session(const std::string& id, const std::string& state, const std::string& userId, int64_t createdAt) {
  return {{"sessionId", id},
          {"state", state},
          {"userId", userId},
          {"type", "phone"},
          {"direction", "inbound"},
          {"callerPhoneNumber", "+1555"},
          {"calleePhoneNumber", "+1999"},
          {"skillGroupId", "sales"},
          {"createdAt", createdAt}};
}

}  // namespace

TEST_CASE("top: a queued call, offered, answered, ended") {
  TopModel m = loaded();
  // A customer joins: the queue grows, which asks for a sessions re-read.
  CHECK(m.apply(event("queueChanged", 10, "", {{"skillGroup", "sales"}, {"waiting", 1}, {"oldestWaitMs", 0}}), 2000,
                51000));
  m.loadSessions(json{{"sessions", {session("s1", "offering", "", 50500)}}}, 51000);
  json v = m.toJson(4000, 53000);
  CHECK(v["queues"][0]["waiting"] == 1);
  CHECK(v["queues"][0]["oldestWaitMs"] == 2000);  // grows with the local clock
  REQUIRE(v["calls"].size() == 1);
  CHECK(v["calls"][0]["state"] == "queued");
  CHECK(v["calls"][0]["customer"] == "+1555");
  CHECK(v["calls"][0]["durationMs"] == 2500);

  CHECK_FALSE(m.apply(event("callIn", 11, "alice", {{"sessionId", "s1"}}), 5000, 54000));
  CHECK_FALSE(m.apply(event("statusChanged", 12, "alice", {{"status", "busy"}}), 5000, 54000));
  CHECK_FALSE(m.apply(event("userAccessed", 13, "alice", {{"sessionId", "s1"}}), 5000, 54000));
  CHECK_FALSE(m.apply(event("queueChanged", 14, "", {{"skillGroup", "sales"}, {"waiting", 0}, {"oldestWaitMs", 0}}),
                      5000, 54000));
  v = m.toJson(6000, 55000);
  CHECK(v["calls"][0]["state"] == "active");
  CHECK(v["calls"][0]["userId"] == "alice");
  CHECK(v["agents"][0]["status"] == "busy");
  CHECK(v["agents"][0]["statusDurationMs"] == 1000);
  CHECK(v["queues"][0]["oldestWaitMs"] == 0);
  CHECK(m.lastSeq() == 14);

  CHECK_FALSE(m.apply(event("sessionEnded", 15, "alice", {{"sessionId", "s1"}, {"closeBy", "client"}}), 7000, 56000));
  CHECK(m.toJson(7000, 56000)["calls"].empty());
  const auto lines = m.render(7000, 56000);
  CHECK(std::find(lines.begin(), lines.end(), "no live calls") != lines.end());
}

TEST_CASE("top: events older than a snapshot, applied after it in order, end where the daemon is") {
  TopModel m = loaded();
  // The snapshot was taken after the call was answered...
  m.loadSessions(json{{"sessions", {session("s1", "active", "alice", 50000)}}}, 52000);
  // ... and these came before its answer: callIn, then userAccessed.
  m.apply(event("callIn", 20, "alice", {{"sessionId", "s1"}}), 2000, 52000);
  CHECK(m.toJson(2000, 52000)["calls"][0]["state"] == "ringing");
  m.apply(event("userAccessed", 21, "alice", {{"sessionId", "s1"}}), 2000, 52000);
  CHECK(m.toJson(2000, 52000)["calls"][0]["state"] == "active");
}

TEST_CASE("top: what asks for a re-read, and what the view ignores") {
  TopModel m = loaded();
  CHECK(m.apply(event("callOuted", 1, "alice", {{"sessionId", "new"}}), 0, 0));  // unknown call
  m.loadSessions(json{{"sessions", {session("s1", "ringing", "alice", 1), session("old", "ended", "alice", 0)}}}, 0);
  CHECK(m.toJson(0, 10)["calls"].size() == 1);  // ended sessions are not live calls
  CHECK(m.apply(event("transfer", 2, "alice", {{"sessionId", "s1"}}), 0, 0));
  CHECK_FALSE(m.apply(event("dtmf", 3, "alice", {{"sessionId", "s1"}, {"digit", "5"}}), 0, 0));
  CHECK_FALSE(m.apply(event("extensionRegistered", 4, "alice", {{"extensionId", "1001"}}), 0, 0));
  CHECK_FALSE(m.apply(json{{"id", 1}, {"status", "success"}}, 0, 0));  // an answer, not an event
  // A queue shrinking needs nothing more.
  CHECK_FALSE(
      m.apply(event("queueChanged", 5, "", {{"skillGroup", "sales"}, {"waiting", 0}, {"oldestWaitMs", 0}}), 0, 0));
  m.apply(event("hold", 6, "alice", {{"sessionId", "s1"}, {"by", "seat"}}), 0, 0);
  CHECK(m.toJson(0, 10)["calls"][0]["state"] == "held");
  m.apply(event("autoTransfer", 7, "alice", {{"sessionId", "s1"}}), 0, 0);
  CHECK(m.toJson(0, 10)["calls"][0]["state"] == "queued");
  CHECK(m.toJson(0, 10)["calls"][0]["userId"] == "");
}

// The Gateway's agent methods end to end over core/: results and error codes,
// statusChanged events with the SDK's payload, and wrap-up timers driven by a
// fake clock.
#include <doctest/doctest.h>

#include <string>

#include "core/gateway.hpp"
#include "fakes.hpp"

using namespace sb::core;
using sb::core::test::CountingRandom;
using sb::core::test::FakeClock;
using sb::core::test::testDirectory;
using nlohmann::json;

namespace {

const std::string kAlice = "alice@example.com";
const std::string kBob = "bob@example.com";
const std::string kCarol = "carol@example.com";

struct Fixture {
  FakeClock clock;
  CountingRandom random;
  Gateway gw{testDirectory(), random, clock.now()};
};

// The statusChanged events of `out`, as {userId, data} pairs.
std::vector<std::pair<std::string, json>> statusEvents(const Outputs& out) {
  std::vector<std::pair<std::string, json>> v;
  for (const auto& e : out.events())
    if (e.name == event::statusChanged) v.emplace_back(e.userId.value_or(""), e.data);
  return v;
}

}  // namespace

TEST_CASE("core gateway: every configured agent starts offline") {
  Fixture f;
  const json agents = f.gw.listAgents(f.clock.now())["agents"];
  REQUIRE(agents.size() == 3);
  for (const auto& a : agents) CHECK(a["status"] == "offline");
  CHECK(agents[0]["userId"] == kAlice);
  CHECK(agents[0]["extensionId"] == "1001");
  CHECK(f.gw.counts().agentsByStatus.at(AgentStatus::offline) == 3);
  CHECK(f.gw.counts().agentsByStatus.at(AgentStatus::busy) == 0);
}

TEST_CASE("core gateway: a status held since start-up is timed from start-up, not from clock zero") {
  Fixture f;  // the fake clock starts far from zero, as a monotonic clock does
  f.clock.advance(std::chrono::seconds(5));
  const json agents = f.gw.listAgents(f.clock.now())["agents"];
  CHECK(agents[0]["statusDurationMs"] == 5000);
  f.gw.agentOnline(kAlice, f.clock.now());
  f.clock.advance(std::chrono::seconds(2));
  CHECK(f.gw.listAgents(f.clock.now())["agents"][0]["statusDurationMs"] == 2000);
}

TEST_CASE("core gateway: method errors carry precise codes") {
  Fixture f;
  const struct {
    const char* what;
    Outcome outcome;
    const char* code;
  } rows[] = {
      {"online unknown", f.gw.agentOnline("nobody", f.clock.now()), "agentNotFound"},
      {"offline unknown", f.gw.agentOffline("nobody", f.clock.now()), "agentNotFound"},
      {"getStatus unknown", f.gw.agentGetStatus("nobody", f.clock.now()), "agentNotFound"},
      {"setStatus unknown", f.gw.agentSetStatus("nobody", "free", "", f.clock.now()), "agentNotFound"},
      {"setStatus offline agent", f.gw.agentSetStatus(kAlice, "free", "", f.clock.now()), "agentOffline"},
      {"setStatus busy", f.gw.agentSetStatus(kAlice, "busy", "", f.clock.now()), "invalidStatus"},
      {"setStatus offline", f.gw.agentSetStatus(kAlice, "offline", "", f.clock.now()), "invalidStatus"},
      {"setStatus garbage", f.gw.agentSetStatus(kAlice, "Free", "", f.clock.now()), "invalidStatus"},
      {"seize offline agent", f.gw.agentSeized(kAlice, "s1", f.clock.now()), "agentOffline"},
      {"release unknown session", f.gw.agentReleased(kAlice, "s1", "", f.clock.now()), "sessionNotFound"},
      {"deleteCall unknown", f.gw.callDeleteCall(kAlice, "nope"), "sessionNotFound"},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.what));
    REQUIRE_FALSE(r.outcome.result.ok());
    CHECK(r.outcome.result.error->code == r.code);
    CHECK_FALSE(r.outcome.result.error->message.empty());
    CHECK(r.outcome.outputs.empty());
  }
}

TEST_CASE("core gateway: online, setStatus and offline emit statusChanged with the SDK payload") {
  Fixture f;
  const struct {
    const char* method;
    const char* status;
    const char* reason;
    json expectedData;  // null: no event
  } rows[] = {
      {"online", "", "", json{{"status", "free"}}},
      {"online", "", "", nullptr},  // idempotent: no event
      {"setStatus", "rest", "Meal", json{{"status", "rest"}, {"restReason", "Meal"}}},
      {"setStatus", "rest", "Meeting", json{{"status", "rest"}, {"restReason", "Meeting"}}},
      {"setStatus", "notReady", "ignored", json{{"status", "notReady"}}},  // restReason only with rest
      {"setStatus", "stopNotReady", "", json{{"status", "free"}}},
      {"setStatus", "rest", "", json{{"status", "rest"}, {"restReason", ""}}},
      {"offline", "", "", json{{"status", "offline"}}},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.method) + " " + r.status);
    f.clock.advance(std::chrono::seconds(1));
    const std::string m = r.method;
    Outcome o = m == "online"    ? f.gw.agentOnline(kAlice, f.clock.now())
                : m == "offline" ? f.gw.agentOffline(kAlice, f.clock.now())
                                 : f.gw.agentSetStatus(kAlice, r.status, r.reason, f.clock.now());
    REQUIRE(o.result.ok());
    const auto events = statusEvents(o.outputs);
    if (r.expectedData.is_null()) {
      CHECK(events.empty());
    } else {
      REQUIRE(events.size() == 1);
      CHECK(events[0].first == kAlice);
      CHECK(events[0].second == r.expectedData);
      CHECK(o.result.data["status"] == r.expectedData["status"]);
    }
  }
}

TEST_CASE("core gateway: a call, wrap-up on a timer, then free") {
  Fixture f;
  f.gw.agentOnline(kAlice, f.clock.now());
  Outcome o = f.gw.agentSeized(kAlice, "s1", f.clock.now());
  REQUIRE(o.result.ok());
  CHECK(statusEvents(o.outputs).at(0).second == json{{"status", "busy"}});
  CHECK(o.result.data["sessions"] == json::array({"s1"}));

  f.clock.advance(std::chrono::seconds(60));
  o = f.gw.agentReleased(kAlice, "s1", "sales", f.clock.now());  // sales: afterCallWork 10
  CHECK(statusEvents(o.outputs).at(0).second == json{{"status", "arrange"}});
  REQUIRE(o.outputs.timers().size() == 1);
  const TimerAction t = o.outputs.timers()[0];
  CHECK(t.op == TimerAction::Op::start);
  CHECK(t.deadline == f.clock.now() + std::chrono::seconds(10));

  f.clock.advance(std::chrono::seconds(4));
  const json status = f.gw.agentGetStatus(kAlice, f.clock.now()).result.data;
  CHECK(status["status"] == "arrange");
  CHECK(status["wrapUpRemainingMs"] == 6000);
  CHECK(status["statusDurationMs"] == 4000);
  CHECK(f.gw.counts().agentsByStatus.at(AgentStatus::arrange) == 1);

  f.clock.advance(std::chrono::seconds(6));
  Outputs fired = f.gw.onTimer(t.id, f.clock.now());
  CHECK(statusEvents(fired).at(0).second == json{{"status", "free"}});
  CHECK(fired.timers().empty());
  // A second firing of the same id (a race with cancel) is ignored.
  CHECK(f.gw.onTimer(t.id, f.clock.now()).empty());
  CHECK(f.gw.onTimer(9999, f.clock.now()).empty());
}

TEST_CASE("core gateway: wrap-up length follows the skill group") {
  const struct {
    const char* userId;
    const char* skillGroup;
    int64_t wrapUpMs;  // 0: straight to free, no timer
  } rows[] = {
      {"alice@example.com", "sales", 10000},
      {"alice@example.com", "support", 30000},
      {"alice@example.com", "", 10000},         // none given: alice's priority-1 group (sales)
      {"alice@example.com", "unknown", 10000},  // unknown: the same fallback
      {"bob@example.com", "", 0},               // bob's only group has afterCallWork 0
      {"bob@example.com", "quick", 0},
      {"carol@example.com", "", 0},  // no group at all
      {"carol@example.com", "support", 30000},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.userId) + " / " + r.skillGroup);
    Fixture f;
    f.gw.agentOnline(r.userId, f.clock.now());
    f.gw.agentSeized(r.userId, "s1", f.clock.now());
    Outcome o = f.gw.agentReleased(r.userId, "s1", r.skillGroup, f.clock.now());
    REQUIRE(o.result.ok());
    if (r.wrapUpMs == 0) {
      CHECK(o.outputs.timers().empty());
      CHECK(o.result.data["status"] == "free");
    } else {
      REQUIRE(o.outputs.timers().size() == 1);
      CHECK((o.outputs.timers()[0].deadline - f.clock.now()).count() == r.wrapUpMs);
      CHECK(o.result.data["status"] == "arrange");
    }
  }
}

TEST_CASE("core gateway: a status asked for during the call follows the wrap-up") {
  Fixture f;
  f.gw.agentOnline(kAlice, f.clock.now());
  f.gw.agentSeized(kAlice, "s1", f.clock.now());
  Outcome o = f.gw.agentSetStatus(kAlice, "rest", "Meal", f.clock.now());
  REQUIRE(o.result.ok());
  CHECK(o.outputs.empty());  // still busy: nothing to announce yet
  CHECK(o.result.data["status"] == "busy");
  CHECK(o.result.data["pendingStatus"] == "rest");
  CHECK(o.result.data["pendingRestReason"] == "Meal");

  o = f.gw.agentReleased(kAlice, "s1", "sales", f.clock.now());
  const TimerId timer = o.outputs.timers().at(0).id;
  f.clock.advance(std::chrono::seconds(10));
  Outputs fired = f.gw.onTimer(timer, f.clock.now());
  CHECK(statusEvents(fired).at(0).second == json{{"status", "rest"}, {"restReason", "Meal"}});
  CHECK_FALSE(f.gw.agentGetStatus(kAlice, f.clock.now()).result.data.contains("pendingStatus"));
}

TEST_CASE("core gateway: leaving wrap-up early cancels its timer") {
  const struct {
    const char* how;
    const char* finalStatus;
  } rows[] = {{"setStatus free", "free"}, {"offline", "offline"}, {"seized again", "busy"}};
  for (const auto& r : rows) {
    CAPTURE(std::string(r.how));
    Fixture f;
    f.gw.agentOnline(kAlice, f.clock.now());
    f.gw.agentSeized(kAlice, "s1", f.clock.now());
    const TimerId timer = f.gw.agentReleased(kAlice, "s1", "sales", f.clock.now()).outputs.timers().at(0).id;
    const std::string how = r.how;
    Outcome o = how == "offline"        ? f.gw.agentOffline(kAlice, f.clock.now())
                : how == "seized again" ? f.gw.agentSeized(kAlice, "s2", f.clock.now())
                                        : f.gw.agentSetStatus(kAlice, "free", "", f.clock.now());
    REQUIRE(o.result.ok());
    REQUIRE(o.outputs.timers().size() == 1);
    CHECK(o.outputs.timers()[0].op == TimerAction::Op::cancel);
    CHECK(o.outputs.timers()[0].id == timer);
    CHECK(o.result.data["status"] == r.finalStatus);
    // Should the cancelled timer still fire, it changes nothing.
    CHECK(f.gw.onTimer(timer, f.clock.now()).empty());
  }
}

TEST_CASE("core gateway: timer ids are never reused") {
  Fixture f;
  f.gw.agentOnline(kAlice, f.clock.now());
  std::vector<TimerId> ids;
  for (int i = 0; i < 3; ++i) {
    f.gw.agentSeized(kAlice, "s", f.clock.now());
    ids.push_back(f.gw.agentReleased(kAlice, "s", "sales", f.clock.now()).outputs.timers().at(0).id);
  }
  CHECK(ids[0] != ids[1]);
  CHECK(ids[1] != ids[2]);
}

TEST_CASE("core gateway: reconfigure keeps the state of what stays") {
  Fixture f;
  f.gw.agentOnline(kAlice, f.clock.now());
  f.gw.agentOnline(kBob, f.clock.now());
  f.gw.agentSeized(kAlice, "s1", f.clock.now());
  const TimerId bobTimer = [&] {
    f.gw.agentSeized(kCarol, "s2", f.clock.now());  // carol offline: refused, no effect
    f.gw.agentSeized(kBob, "s3", f.clock.now());
    return f.gw.agentReleased(kBob, "s3", "support", f.clock.now()).outputs.timers().at(0).id;
  }();
  const ExtensionRegistered phone{"1001", {ContactInfo{"sip:1001@192.0.2.10", "udp:192.0.2.10:5060", "", 0, true}}};
  f.gw.onFact(phone, f.clock.now());

  Directory next = testDirectory();
  next.agents.erase(next.agents.begin() + 1);  // bob leaves
  sb::config::Agent dave;
  dave.userId = "dave@example.com";
  dave.extension = "1003";
  next.agents.push_back(dave);
  next.extensions.pop_back();  // 1003 is renamed and bound to dave
  sb::config::Extension lobby;
  lobby.id = "1003";
  lobby.name = "Front desk";
  next.extensions.push_back(lobby);

  const Outputs out = f.gw.reconfigure(next, f.clock.now());
  REQUIRE(out.events().size() == 1);
  CHECK(out.events()[0].userId == kBob);
  CHECK(out.events()[0].data == json{{"status", "offline"}});
  REQUIRE(out.timers().size() == 1);
  CHECK(out.timers()[0].op == TimerAction::Op::cancel);
  CHECK(out.timers()[0].id == bobTimer);
  CHECK(f.gw.onTimer(bobTimer, f.clock.now()).empty());

  CHECK(f.gw.findAgent(kBob) == nullptr);
  CHECK(f.gw.findAgent(kAlice)->status() == AgentStatus::busy);  // untouched
  CHECK(f.gw.findAgent("dave@example.com")->status() == AgentStatus::offline);
  CHECK(f.gw.extensions().find("1001")->registered);  // kept its binding
  CHECK(f.gw.extensions().find("1001")->contactCount == 1);
  CHECK(f.gw.onFact(phone, f.clock.now()).empty());  // and knows a refresh for one
  CHECK(f.gw.extensions().find("1003")->name == "Front desk");
  CHECK(f.gw.extensions().find("1003")->boundUserId == "dave@example.com");
  CHECK(f.gw.agentOnline(kBob, f.clock.now()).result.error->code == "agentNotFound");
}

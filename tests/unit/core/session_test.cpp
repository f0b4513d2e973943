// Sessions: the life-cycle transition table, the session table (create, lookup,
// end, list, delete, retention) and unguessable ids from an injected source.
#include <doctest/doctest.h>

#include <array>
#include <set>
#include <string>

#include "core/gateway.hpp"
#include "core/session_table.hpp"
#include "fakes.hpp"

using namespace sb::core;
using sb::core::test::CountingRandom;
using sb::core::test::FakeClock;
using sb::core::test::str;
using sb::core::test::testDirectory;

namespace {

constexpr int64_t kWall = 1'700'000'000'000;  // wall-clock ms, passed in like `now`

SessionSpec inboundFor(const std::string& userId) {
  SessionSpec s;
  s.type = SessionType::phone;
  s.serverType = ServerType::staffExtensionSeat;
  s.direction = Direction::inbound;
  s.callerPhoneNumber = "+15550111222";
  s.calleePhoneNumber = "+15550199000";
  s.userId = userId;
  s.skillGroupId = "sales";
  return s;
}

const SessionEnd kHungUpBySeat{CloseBy::seat, EndState::ok, "", ""};

}  // namespace

TEST_CASE("core session: life-cycle transition table") {
  using S = SessionState;
  const S all[] = {S::offering, S::ringing, S::active, S::held, S::ended};
  // allowed[from][to], rows and columns in the order of `all`.
  const bool allowed[5][5] = {
      /* offering */ {false, true, true, false, true},
      /* ringing  */ {true, false, true, false, true},
      /* active   */ {true, false, false, true, true},  // -> offering: a transfer to a queue
      /* held     */ {true, false, true, false, true},
      /* ended    */ {false, false, false, false, false},
  };
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 5; ++j) {
      CAPTURE(str(toString(all[i])) + " -> " + str(toString(all[j])));
      CHECK(sessionTransitionAllowed(all[i], all[j]) == allowed[i][j]);
      Session s;
      s.sessionId = "x";
      s.state = all[i];
      const Result r = transitionSession(s, all[j], kWall, kHungUpBySeat);
      CHECK(r.ok() == allowed[i][j]);
      CHECK(s.state == (allowed[i][j] ? all[j] : all[i]));  // a refused move changes nothing
      if (!r.ok()) CHECK(r.error->code == "invalidTransition");
    }
  }
}

TEST_CASE("core session: timestamps are stamped once, from the wall clock passed in") {
  CountingRandom random;
  SessionTable table(random);
  Session& s = table.create(inboundFor("alice"), kWall);
  const std::string id = s.sessionId;
  CHECK(s.state == SessionState::offering);
  CHECK(s.createdAtMs == kWall);
  REQUIRE(table.transition(id, SessionState::ringing, kWall + 100).ok());
  REQUIRE(table.transition(id, SessionState::offering, kWall + 200).ok());  // autoTransfer: back to queue
  REQUIRE(table.transition(id, SessionState::ringing, kWall + 300).ok());
  REQUIRE(table.transition(id, SessionState::active, kWall + 400).ok());
  REQUIRE(table.transition(id, SessionState::held, kWall + 500).ok());
  REQUIRE(table.transition(id, SessionState::active, kWall + 600).ok());
  CHECK(s.ringingAtMs == kWall + 100);  // the first ring counts
  CHECK(s.answeredAtMs == kWall + 400);
  CHECK_FALSE(s.endedAtMs.has_value());

  const Result noEnd = table.transition(id, SessionState::ended, kWall + 700);
  CHECK(noEnd.error->code == "invalidParams");  // ending needs closeBy and an end state
  REQUIRE(table.transition(id, SessionState::ended, kWall + 700, kHungUpBySeat).ok());
  CHECK(s.endedAtMs == kWall + 700);
  const auto j = s.toJson();
  CHECK(j["closeBy"] == "seat");
  CHECK(j["endState"] == "ok");
  CHECK(j["answeredAt"] == kWall + 400);
  CHECK(j["serverType"] == "staffExtensionSeat");
  CHECK(j["direction"] == "inbound");
  CHECK(j["type"] == "phone");
  CHECK_FALSE(j.contains("peerUserId"));
}

TEST_CASE("core session: end states and closeBy as the SDK spells them") {
  const struct {
    SessionEnd end;
    const char* closeBy;
    const char* endState;
  } rows[] = {
      {{CloseBy::client, EndState::waitingGiveUp, "", ""}, "client", "waitingGiveUp"},
      {{CloseBy::timer, EndState::ringingGiveUp, "", ""}, "timer", "ringingGiveUp"},
      {{CloseBy::admin, EndState::noSeatOnline, "routing", "noAgent"}, "admin", "noSeatOnline"},
      {{CloseBy::seat, EndState::userReject, "", ""}, "seat", "userReject"},
      {{CloseBy::client, EndState::callerCancel, "", ""}, "client", "callerCancel"},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.endState));
    CountingRandom random;
    SessionTable table(random);
    const std::string id = table.create(inboundFor("alice"), kWall).sessionId;
    REQUIRE(table.transition(id, SessionState::ended, kWall + 1, r.end).ok());
    const auto j = table.find(id)->toJson();
    CHECK(j["closeBy"] == r.closeBy);
    CHECK(j["endState"] == r.endState);
    CHECK(j["mainReason"] == r.end.mainReason);
    CHECK(j["subReason"] == r.end.subReason);
    CHECK(j["answeredAt"].is_null());
  }
}

TEST_CASE("core session: ids are UUIDv4 from the injected source, unique even if it repeats") {
  CountingRandom random(0xab);
  SessionTable table(random);
  const std::string first = table.create(inboundFor("alice"), kWall).sessionId;
  CHECK(first == "abababab-abab-4bab-abab-abababababab");  // version and variant bits set
  random.repeatNext(3);  // the next draws repeat the bytes just used
  const std::string second = table.create(inboundFor("alice"), kWall).sessionId;
  CHECK(second != first);
  std::set<std::string> ids{first, second};
  for (int i = 0; i < 50; ++i) ids.insert(table.create(inboundFor("alice"), kWall).sessionId);
  CHECK(ids.size() == 52);
  for (const auto& id : ids) {
    CHECK(id.size() == 36);
    CHECK(id[14] == '4');
  }
}

TEST_CASE("core session: formatUuidV4 sets version and variant only") {
  std::array<std::byte, 16> zero{};
  CHECK(formatUuidV4(zero) == "00000000-0000-4000-8000-000000000000");
  std::array<std::byte, 16> ones{};
  ones.fill(std::byte{0xff});
  CHECK(formatUuidV4(ones) == "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

TEST_CASE("core session: list, lookup and Call.deleteCall") {
  CountingRandom random;
  SessionTable table(random);
  const std::string a1 = table.create(inboundFor("alice"), kWall).sessionId;
  const std::string b1 = table.create(inboundFor("bob"), kWall + 1).sessionId;
  SessionSpec internal = inboundFor("alice");
  internal.type = SessionType::internal;
  internal.peerUserId = "bob";
  const std::string ab = table.create(internal, kWall + 2).sessionId;

  CHECK(table.list().size() == 3);
  CHECK(table.list("alice").size() == 2);
  CHECK(table.list("bob").size() == 2);  // bob is the peer of the internal call
  CHECK(table.list("carol").empty());
  CHECK(table.list().front()->sessionId == a1);  // creation order
  CHECK(table.activeCount(SessionType::phone) == 2);
  CHECK(table.activeCount(SessionType::internal) == 1);
  CHECK(table.find(ab)->toJson()["peerUserId"] == "bob");

  const struct {
    const char* what;
    std::string id;
    const char* userId;
    const char* code;  // "" = deleted
  } rows[] = {
      {"unknown id", "nope", "alice", "sessionNotFound"},
      {"someone else's", b1, "alice", "sessionNotFound"},
      {"still live", a1, "alice", "sessionNotEnded"},
  };
  for (const auto& r : rows) {
    CAPTURE(std::string(r.what));
    CHECK(table.remove(r.id, r.userId).error->code == r.code);
  }
  REQUIRE(table.transition(a1, SessionState::ended, kWall + 9, kHungUpBySeat).ok());
  CHECK(table.activeCount(SessionType::phone) == 1);
  CHECK(table.list("alice").size() == 2);  // ended sessions stay listed until deleted
  CHECK(table.remove(a1, "alice").ok());
  CHECK(table.find(a1) == nullptr);
  CHECK(table.list("alice").size() == 1);
  CHECK(table.remove(a1, "alice").error->code == "sessionNotFound");  // only once
}

TEST_CASE("core session: ended sessions are kept up to a bound, oldest dropped first") {
  CountingRandom random;
  SessionTable table(random, 2);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(table.create(inboundFor("alice"), kWall + i).sessionId);
  const std::string live = table.create(inboundFor("alice"), kWall + 9).sessionId;
  for (const auto& id : ids) REQUIRE(table.transition(id, SessionState::ended, kWall + 10, kHungUpBySeat).ok());
  CHECK(table.find(ids[0]) == nullptr);
  CHECK(table.find(ids[1]) == nullptr);
  CHECK(table.find(ids[2]) != nullptr);
  CHECK(table.find(ids[3]) != nullptr);
  CHECK(table.find(live) != nullptr);  // live sessions are never dropped
  CHECK(table.size() == 3);
  CHECK(table.list().size() == 3);
}

TEST_CASE("core gateway: sessions through the Gateway") {
  FakeClock clock;
  CountingRandom random;
  Gateway gw(testDirectory(), random, TimePoint{});
  const std::string id = gw.sessions().create(inboundFor("alice@example.com"), kWall).sessionId;
  CHECK(gw.checkSession("alice@example.com", id).ok());
  CHECK(gw.checkSession("", id).ok());  // operators may name any session
  CHECK(gw.checkSession("bob@example.com", id).error->code == "sessionNotFound");
  CHECK(gw.checkSession("alice@example.com", "nope").error->code == "sessionNotFound");
  CHECK(gw.listSessions()["sessions"].size() == 1);
  CHECK(gw.listSessions("bob@example.com")["sessions"].empty());
  CHECK(gw.counts().sessionsActiveByType.at(SessionType::phone) == 1);
  CHECK(gw.counts().sessionsActiveByType.at(SessionType::internal) == 0);
  CHECK(gw.callDeleteCall("alice@example.com", id).result.error->code == "sessionNotEnded");
  REQUIRE(gw.sessions().transition(id, SessionState::ended, kWall + 5, kHungUpBySeat).ok());
  const Outcome o = gw.callDeleteCall("alice@example.com", id);
  CHECK(o.result.ok());
  CHECK(o.result.data["sessionId"] == id);
  CHECK(gw.listSessions()["sessions"].empty());
}

// Call.accept over core/ alone: the socket answers a ringing desk phone by
// asking it to (AnswerRemotely, a NOTIFY Event: talk on the wire), only where
// the phone offered it; userAccessed then names the asking connection.
#include <doctest/doctest.h>

#include <string>

#include "calls_fixture.hpp"
#include "core/gateway.hpp"

using namespace sb::core;
using nlohmann::json;
using namespace sb::core::test::calls;

namespace {

const std::string kTab = "2f1c5e0a-9a57-4f7e-8f43-0b8d7e6f2c11";

struct Offered {
  Fixture f;
  InboundDecision in;
  LegId ring = 0;
  std::string sessionId;
  explicit Offered(Directory d = callDirectory()) : f(std::move(d)) {}
  void start(const std::string& userId) {
    if (userId == kAlice) f.registerPhone("1001");
    f.online(userId);
    in = f.call();
    REQUIRE(in.outputs.only<RingLeg>().size() == 1);
    ring = in.outputs.only<RingLeg>()[0].leg;
    sessionId = in.outputs.events().back().data["sessionId"];
  }
  Outcome accept(const std::string& userId = kAlice) { return f.gw.callAccept(userId, sessionId, kTab, f.clock.now()); }
};

}  // namespace

TEST_CASE("core Call.accept: a desk phone that offered talk is asked once, its answer names the tab") {
  Offered o;
  o.start(kAlice);
  o.f.fact(LegRinging{o.ring, 180, true});
  Outcome a = o.accept();
  REQUIRE(a.result.ok());
  CHECK(a.result.data["sessionId"] == o.sessionId);
  REQUIRE(a.outputs.only<AnswerRemotely>().size() == 1);
  CHECK(a.outputs.only<AnswerRemotely>()[0].leg == o.ring);
  CHECK(a.outputs.events().empty());  // userAccessed waits for the phone's 200
  CHECK(a.outputs.only<AnswerLeg>().empty());

  // A second accept while the phone picks up: success, no second NOTIFY.
  Outcome again = o.accept();
  CHECK(again.result.ok());
  CHECK(again.outputs.only<AnswerRemotely>().empty());

  Outputs answered = o.f.fact(LegAnswered{o.ring});
  REQUIRE(answered.only<AnswerLeg>().size() == 1);
  REQUIRE(names(answered) == std::vector<std::string>{"userAccessed:" + kAlice});
  CHECK(answered.events()[0].data["tabUUID"] == kTab);

  // Answered: accepting again is an invalid transition.
  CHECK(o.accept().result.error->code == errc::invalidTransition);
}

TEST_CASE("core Call.accept: a phone that did not offer talk, or has not rung yet, gets remoteAnswerUnsupported") {
  Offered o;
  o.start(kAlice);
  Outcome before = o.accept();  // no 18x yet
  REQUIRE_FALSE(before.result.ok());
  CHECK(before.result.error->code == errc::remoteAnswerUnsupported);
  o.f.fact(LegRinging{o.ring, 180, false});
  Outcome plain = o.accept();
  REQUIRE_FALSE(plain.result.ok());
  CHECK(plain.result.error->code == errc::remoteAnswerUnsupported);
  CHECK(plain.outputs.empty());
  // The phone answered by hand: userAccessed with an empty tabUUID.
  Outputs answered = o.f.fact(LegAnswered{o.ring});
  REQUIRE(names(answered) == std::vector<std::string>{"userAccessed:" + kAlice});
  CHECK(answered.events()[0].data["tabUUID"] == "");
}

TEST_CASE("core Call.accept: someone else's session, or one not live, is sessionNotFound") {
  Offered o;
  o.start(kAlice);
  o.f.online(kBob);
  CHECK(o.accept(kBob).result.error->code == errc::sessionNotFound);
  CHECK(o.f.gw.callAccept(kAlice, "no-such-session", kTab, o.f.clock.now()).result.error->code ==
        errc::sessionNotFound);
}

TEST_CASE("core Call.accept: a mobile still ringing cannot be answered remotely") {
  Offered o;
  o.start(kDan);  // mobile only, through the trunk
  o.f.fact(LegRinging{o.ring, 180, false});
  Outcome a = o.accept(kDan);
  REQUIRE_FALSE(a.result.ok());
  CHECK(a.result.error->code == errc::remoteAnswerUnsupported);
}

TEST_CASE("core Call.accept: on a mobile waiting for the agent's key it is the confirmation") {
  Directory d = callDirectory();
  d.calls.mobileConfirmSeconds = 8;
  Offered o(std::move(d));
  o.start(kDan);
  Outputs up = o.f.fact(LegAnswered{o.ring});
  CHECK(up.only<AnswerLeg>().empty());  // waiting for the key
  Outcome a = o.accept(kDan);
  REQUIRE(a.result.ok());
  REQUIRE(a.outputs.only<AnswerLeg>().size() == 1);
  CHECK(a.outputs.only<AnswerLeg>()[0].with == o.ring);
  CHECK(a.outputs.only<AnswerRemotely>().empty());
  // The confirmation timer is cancelled, and userAccessed names the tab.
  bool cancelled = false;
  for (const auto& t : a.outputs.timers()) cancelled = cancelled || t.op == TimerAction::Op::cancel;
  CHECK(cancelled);
  REQUIRE(names(a.outputs) == std::vector<std::string>{"userAccessed:" + kDan});
  CHECK(a.outputs.events()[0].data["tabUUID"] == kTab);
}

TEST_CASE("core Call.accept: a withdrawn offer forgets the phone's talk, the next offer starts afresh") {
  Offered o;
  o.start(kAlice);
  o.f.registerPhone("1002");
  o.f.online(kBob);
  o.f.fact(LegRinging{o.ring, 180, true});
  REQUIRE(o.accept().result.ok());
  // Alice's phone never picks up: the ring timeout moves the call to bob.
  Outputs moved = o.f.fire(ringTimer(o.in.outputs));
  REQUIRE(moved.only<RingLeg>().size() == 1);
  const LegId bobLeg = moved.only<RingLeg>()[0].leg;
  Outcome bobs = o.f.gw.callAccept(kBob, o.sessionId, kTab, o.f.clock.now());
  CHECK(bobs.result.error->code == errc::remoteAnswerUnsupported);  // bob's phone has not offered talk
  o.f.fact(LegRinging{bobLeg, 180, true});
  Outcome again = o.f.gw.callAccept(kBob, o.sessionId, kTab, o.f.clock.now());
  REQUIRE(again.result.ok());
  REQUIRE(again.outputs.only<AnswerRemotely>().size() == 1);
  CHECK(again.outputs.only<AnswerRemotely>()[0].leg == bobLeg);
}

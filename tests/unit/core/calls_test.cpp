// Inbound calls over core/ alone, with a fake clock: queue, offer, answer,
// bridge, end, and the order of the actions the SIP layer carries out.
#include <doctest/doctest.h>

#include <string>

#include "calls_fixture.hpp"
#include "core/gateway.hpp"

using namespace sb::core;
using nlohmann::json;
using sb::core::test::CountingRandom;
using sb::core::test::FakeClock;
using namespace sb::core::test::calls;


TEST_CASE("core calls: a number not configured is refused 404 and no session is made") {
  Fixture f;
  InboundDecision d = f.call("+19999");
  REQUIRE(d.outputs.only<RejectLeg>().size() == 1);
  CHECK(d.outputs.only<RejectLeg>()[0].code == 404);
  CHECK(d.outputs.only<RejectLeg>()[0].leg == d.leg);
  CHECK(f.gw.listSessions()["sessions"].empty());
}

TEST_CASE("core calls: nobody online with the skill ends the call at once as noSeatOnline, 480") {
  Fixture f;
  f.registerPhone("1001");
  InboundDecision d = f.call();
  REQUIRE(d.outputs.only<RejectLeg>().size() == 1);
  CHECK(d.outputs.only<RejectLeg>()[0].code == 480);
  const auto ended = d.outputs.events();
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].name == "sessionEnded");
  CHECK(ended[0].data["closeBy"] == "admin");
  CHECK(endState(f, ended[0].data["sessionId"]) == "noSeatOnline");
  CHECK(f.gw.liveCalls() == 0);
}

TEST_CASE("core calls: answered on the desk phone, then the customer hangs up") {
  Fixture f;
  f.registerPhone("1001");
  f.online(kAlice);
  InboundDecision d = f.call();
  // 180 to the customer, alice reserved (busy), her desk phone rung, callIn.
  CHECK(indexOf<SendProvisional>(d.outputs) == 0);
  REQUIRE(d.outputs.only<RingLeg>().size() == 1);
  const RingLeg ring = d.outputs.only<RingLeg>()[0];
  CHECK(std::get<DeskPhoneTarget>(ring.target).extensionId == "1001");
  CHECK(ring.offerFrom == d.leg);
  CHECK(ring.leg != d.leg);
  CHECK(names(d.outputs) == std::vector<std::string>{"statusChanged:" + kAlice + "=busy", "callIn:" + kAlice});
  const json callIn = d.outputs.events()[1].data;
  CHECK(callIn["type"] == "phone");
  CHECK(callIn["timeout"] == 20);
  CHECK(callIn["callerPhoneNumber"] == "+15550100999");
  CHECK(callIn["calleePhoneNumber"] == kNumber);
  CHECK(callIn["serverType"] == "staffExtensionSeat");
  const std::string sessionId = callIn["sessionId"];

  f.clock.advance(std::chrono::seconds(3));
  Outputs a = f.fact(LegAnswered{ring.leg});
  // Answer before bridge, bridge before the event that announces it.
  const int answer = indexOf<AnswerLeg>(a), bridge = indexOf<BridgeLegs>(a);
  REQUIRE(answer >= 0);
  CHECK(answer < bridge);
  CHECK(a.only<AnswerLeg>()[0].leg == d.leg);
  CHECK(a.only<AnswerLeg>()[0].with == ring.leg);
  CHECK(names(a) == std::vector<std::string>{"userAccessed:" + kAlice});
  CHECK(f.gw.counts().sessionsActiveByType.at(SessionType::phone) == 1);

  f.clock.advance(std::chrono::seconds(60));
  Outputs e = f.fact(LegEnded{d.leg, 0});
  REQUIRE(e.only<HangUpLeg>().size() == 1);
  CHECK(e.only<HangUpLeg>()[0].leg == ring.leg);
  CHECK(names(e) == std::vector<std::string>{"sessionEnded:" + kAlice, "statusChanged:" + kAlice + "=arrange"});
  CHECK(e.events()[0].data["closeBy"] == "client");
  const json row = f.gw.listSessions()["sessions"][0];
  CHECK(row["endState"] == "ok");
  CHECK(row["waitMs"] == 3000);
  CHECK(row["talkMs"] == 60000);
  CHECK(row["offers"][0]["outcome"] == "answered");
  // After-call work, then free.
  Outputs w = f.fire(startedTimer(e));
  CHECK(names(w) == std::vector<std::string>{"statusChanged:" + kAlice + "=free"});
  CHECK(f.gw.liveCalls() == 0);
}

TEST_CASE("core calls: the agent hangs up (phone BYE or Call.hungUp) gives closeBy seat") {
  for (bool socket : {false, true}) {
    CAPTURE(socket);
    Fixture f;
    f.registerPhone("1001");
    f.online(kAlice);
    InboundDecision d = f.call();
    const RingLeg ring = d.outputs.only<RingLeg>()[0];
    const std::string sessionId = d.outputs.events()[1].data["sessionId"];
    f.fact(LegAnswered{ring.leg});
    Outputs e;
    if (socket) {
      CHECK(f.gw.callHungUp(kBob, sessionId, f.clock.now()).result.error->code == "sessionNotFound");
      Outcome o = f.gw.callHungUp(kAlice, sessionId, f.clock.now());
      REQUIRE(o.result.ok());
      e = std::move(o.outputs);
      CHECK(e.only<HangUpLeg>().size() == 2);
    } else {
      e = f.fact(LegEnded{ring.leg, 0});
      REQUIRE(e.only<HangUpLeg>().size() == 1);
      CHECK(e.only<HangUpLeg>()[0].leg == d.leg);
    }
    CHECK(e.events().front().data["closeBy"] == "seat");
  }
}

TEST_CASE("core calls: an offer that rings out is CANCELled, autoTransfer, and goes to the next agent") {
  Fixture f;
  f.registerPhone("1001");
  f.registerPhone("1002");
  f.online(kAlice);
  f.online(kBob);
  InboundDecision d = f.call();
  const RingLeg first = d.outputs.only<RingLeg>()[0];
  CHECK(std::get<DeskPhoneTarget>(first.target).extensionId == "1001");  // priority 1 first
  Outputs t = f.fire(ringTimer(d.outputs));
  REQUIRE(t.only<CancelLeg>().size() == 1);
  CHECK(t.only<CancelLeg>()[0].leg == first.leg);
  CHECK(indexOf<CancelLeg>(t) < indexOf<RingLeg>(t));
  CHECK(names(t) == std::vector<std::string>{"autoTransfer:" + kAlice, "statusChanged:" + kAlice + "=free",
                                             "statusChanged:" + kBob + "=busy", "callIn:" + kBob});
  CHECK(std::get<DeskPhoneTarget>(t.only<RingLeg>()[0].target).extensionId == "1002");
  // A 2xx that crosses the CANCEL is hung up, not bridged.
  Outputs late = f.fact(LegAnswered{first.leg});
  REQUIRE(late.only<HangUpLeg>().size() == 1);
  CHECK(late.only<AnswerLeg>().empty());
}

TEST_CASE("core calls: a refusal (486/603) moves to the next agent at once, without autoTransfer") {
  for (int code : {486, 603}) {
    CAPTURE(code);
    Fixture f;
    f.registerPhone("1001");
    f.registerPhone("1002");
    f.online(kAlice);
    f.online(kBob);
    InboundDecision d = f.call();
    Outputs r = f.fact(LegFailed{d.outputs.only<RingLeg>()[0].leg, code});
    CHECK(r.only<CancelLeg>().empty());  // the leg already ended on the wire
    CHECK(names(r) == std::vector<std::string>{"statusChanged:" + kAlice + "=free", "statusChanged:" + kBob + "=busy",
                                               "callIn:" + kBob});
  }
}

TEST_CASE("core calls: Call.end refuses a ringing offer, the agent is not offered it again while others can be") {
  Fixture f;
  f.registerPhone("1001");
  f.online(kAlice);
  InboundDecision d = f.call();
  const std::string sessionId = d.outputs.events()[1].data["sessionId"];
  Outcome o = f.gw.callEnd(kAlice, sessionId, f.clock.now());
  REQUIRE(o.result.ok());
  CHECK(o.outputs.only<CancelLeg>().size() == 1);
  // Alone: offered again (nobody else is eligible), but not at once.
  CHECK(names(o.outputs).back() == "statusChanged:" + kAlice + "=free");
  const TimerAction retry = lastStartedTimer(o.outputs);
  CHECK(retry.deadline == f.clock.now() + std::chrono::seconds(2));
  CHECK(names(f.fire(retry)).back() == "callIn:" + kAlice);
  o = f.gw.callEnd(kAlice, sessionId, f.clock.now());
  REQUIRE(o.result.ok());
  // Bob comes online: the waiting call is offered to him at once, not to alice again.
  f.registerPhone("1002");
  Outputs b = f.gw.agentOnline(kBob, f.clock.now()).outputs;
  CHECK(names(b) == std::vector<std::string>{"statusChanged:" + kBob + "=free", "statusChanged:" + kBob + "=busy",
                                             "callIn:" + kBob});
  // Alice has no offer left to refuse.
  CHECK_FALSE(f.gw.callEnd(kAlice, sessionId, f.clock.now()).result.ok());
}

TEST_CASE("core calls: the customer gives up while queued (waitingGiveUp) or while an agent rings (ringingGiveUp)") {
  {
    Fixture f;
    f.online(kAlice);  // online, but no phone registered: the call waits
    InboundDecision d = f.call();
    CHECK(d.outputs.only<RingLeg>().empty());
    CHECK(f.gw.queueStats(f.clock.now()).at("sales").waiting == 1);
    Outputs c = f.fact(LegCancelled{d.leg});
    CHECK(c.events().back().data["closeBy"] == "client");
    CHECK(endState(f, c.events().back().data["sessionId"]) == "waitingGiveUp");  // no agent: sessionEnded is last
    CHECK(f.gw.queueStats(f.clock.now()).at("sales").waiting == 0);
  }
  {
    Fixture f;
    f.registerPhone("1001");
    f.online(kAlice);
    InboundDecision d = f.call();
    Outputs c = f.fact(LegCancelled{d.leg});
    REQUIRE(c.only<CancelLeg>().size() == 1);
    CHECK(names(c) == std::vector<std::string>{"sessionEnded:" + kAlice, "statusChanged:" + kAlice + "=free"});
    CHECK(endState(f, c.events().front().data["sessionId"]) == "ringingGiveUp");
  }
}

TEST_CASE("core calls: the queue timeout ends the wait with 480 and closeBy timer") {
  Fixture f;
  f.online(kAlice);
  InboundDecision d = f.call();
  f.clock.advance(std::chrono::seconds(30));
  CHECK(f.gw.queueStats(f.clock.now()).at("sales").oldestWait == std::chrono::seconds(30));
  Outputs t = f.fire(startedTimer(d.outputs));
  REQUIRE(t.only<RejectLeg>().size() == 1);
  CHECK(t.only<RejectLeg>()[0].code == 480);
  CHECK(t.events().back().data["closeBy"] == "timer");
  CHECK(endState(f, t.events().back().data["sessionId"]) == "unconnected");
}

TEST_CASE("core calls: a waiting customer goes to the agent the moment they become free") {
  Fixture f;
  f.registerPhone("1001");
  f.registerPhone("1002");
  f.online(kAlice);
  REQUIRE(f.gw.agentSetStatus(kAlice, "notReady", "", f.clock.now()).result.ok());
  InboundDecision d = f.call();
  CHECK(d.outputs.only<RingLeg>().empty());  // nobody free
  Outputs b = f.gw.agentSetStatus(kAlice, "stopNotReady", "", f.clock.now()).outputs;
  CHECK(names(b) == std::vector<std::string>{"statusChanged:" + kAlice + "=free", "statusChanged:" + kAlice + "=busy",
                                             "callIn:" + kAlice});
}

TEST_CASE("core calls: useMobileAccept 2 rings the mobile alone, through the first trunk") {
  Fixture f;
  f.online(kDan);
  InboundDecision d = f.call();
  REQUIRE(d.outputs.only<RingLeg>().size() == 1);
  const auto target = std::get<TrunkTarget>(d.outputs.only<RingLeg>()[0].target);
  CHECK(target.trunk == "pbx");
  CHECK(target.number == "+15550100004");
  CHECK(d.outputs.events().back().data["serverType"] == "staffPhoneSeat");
}

TEST_CASE("core calls: a drain ends bridged calls with BYE on both legs and refuses waiting ones 503") {
  Fixture f;
  f.registerPhone("1001");
  f.online(kAlice);
  InboundDecision d1 = f.call();
  f.fact(LegAnswered{d1.outputs.only<RingLeg>()[0].leg});
  InboundDecision d2 = f.call();  // waits: alice is busy
  Outputs out = f.gw.endAllCalls("shutdown", f.clock.now());
  CHECK(out.only<HangUpLeg>().size() == 2);
  REQUIRE(out.only<RejectLeg>().size() == 1);
  CHECK(out.only<RejectLeg>()[0].leg == d2.leg);
  CHECK(out.only<RejectLeg>()[0].code == 503);
  CHECK(f.gw.liveCalls() == 0);
  for (const auto& e : out.events())
    if (e.name == "sessionEnded") CHECK(e.data["closeBy"] == "admin");
}

TEST_CASE("core calls: facts about legs core has let go of change nothing") {
  Fixture f;
  CHECK(f.fact(LegRinging{42, 180}).empty());
  CHECK(f.fact(LegEnded{42, 0}).empty());
  CHECK(f.fact(LegAnswered{42}).only<HangUpLeg>().size() == 1);  // never leave a stray dialog up
}

TEST_CASE("core calls: a trunk known to be down rings no mobile, its return dispatches the waiting call") {
  Fixture f;
  f.online(kDan);
  Outputs down = f.gw.onTrunkState("pbx", false, f.clock.now());
  REQUIRE(down.events().size() == 1);
  CHECK(down.events()[0].name == "trunkStateChanged");
  CHECK(down.events()[0].data == json{{"trunk", "pbx"}, {"up", false}});
  CHECK_FALSE(down.events()[0].userId.has_value());
  CHECK(f.gw.onTrunkState("pbx", false, f.clock.now()).empty());  // no change, no event
  InboundDecision d = f.call();
  CHECK(d.outputs.only<RingLeg>().empty());
  Outputs up = f.gw.onTrunkState("pbx", true, f.clock.now());
  REQUIRE(up.only<RingLeg>().size() == 1);
  CHECK(std::get<TrunkTarget>(up.only<RingLeg>()[0].target).trunk == "pbx");
}

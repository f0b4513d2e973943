// Call.transfer over core/ alone: blind to a skill group's queue, or to one
// agent while the first stays on the line (docs/CORE.md, "Transfer").
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "calls_fixture.hpp"
#include "core/gateway.hpp"

using namespace sb::core;
using namespace sb::core::test::calls;

namespace {

struct Bridged : Fixture {
  LegId customer = 0, alice = 0;
  std::string sid;
  Bridged() {
    registerPhone("1001");
    registerPhone("1002");
    online(kAlice);
    InboundDecision in = call();
    customer = in.leg;
    alice = in.outputs.only<RingLeg>()[0].leg;
    sid = in.outputs.events().back().data["sessionId"];
    fact(LegAnswered{alice});
  }
};

}  // namespace

TEST_CASE("core transfer: to a skill group, the agent goes at once and the next agent's answer is re-offered") {
  Bridged f;
  CHECK(f.gw.callTransfer(kAlice, f.sid, "", "", f.clock.now()).result.error->code == errc::invalidParams);
  CHECK(f.gw.callTransfer(kAlice, f.sid, kBob, "sales", f.clock.now()).result.error->code == errc::invalidParams);
  CHECK(f.gw.callTransfer(kAlice, f.sid, "", "nope", f.clock.now()).result.error->code == errc::invalidParams);
  Outcome o = f.gw.callTransfer(kAlice, f.sid, "", "sales", f.clock.now());
  REQUIRE(o.result.ok());
  CHECK(o.outputs.only<HangUpLeg>()[0].leg == f.alice);
  const auto events = names(o.outputs);
  REQUIRE(events.size() >= 2);
  CHECK(events[0] == "transfer:" + kAlice);
  CHECK(o.outputs.events()[0].data["skillGroupId"] == "sales");
  CHECK(events[1] == "statusChanged:" + kAlice + "=arrange");  // released at that moment, with after-call work
  CHECK(f.gw.listSessions()["sessions"][0]["state"] == "offering");
  // Bob comes online and is offered the customer; his answer is re-offered to
  // the customer's leg, which was answered already.
  Outcome on = f.gw.agentOnline(kBob, f.clock.now());
  REQUIRE(on.outputs.only<RingLeg>().size() == 1);
  const RingLeg ring = on.outputs.only<RingLeg>()[0];
  CHECK(ring.offerFrom == f.customer);
  Outputs a = f.fact(LegAnswered{ring.leg});
  REQUIRE(a.only<ReofferLeg>().size() == 1);
  CHECK(a.only<ReofferLeg>()[0].leg == f.customer);
  CHECK(a.only<ReofferLeg>()[0].with == ring.leg);
  CHECK(a.only<AnswerLeg>().empty());
  CHECK(f.gw.listSessions()["sessions"][0]["state"] == "active");
  CHECK(f.gw.listSessions()["sessions"][0]["userId"] == kBob);
}

TEST_CASE("core transfer: to an agent, the first stays on until the new one answers") {
  Bridged f;
  CHECK(f.gw.callTransfer(kAlice, f.sid, kBob, "", f.clock.now()).result.error->code == errc::invalidTransition);
  f.online(kBob);
  Outcome o = f.gw.callTransfer(kAlice, f.sid, kBob, "", f.clock.now());
  REQUIRE(o.result.ok());
  REQUIRE(o.outputs.only<RingLeg>().size() == 1);
  const RingLeg ring = o.outputs.only<RingLeg>()[0];
  CHECK(ring.offerFrom == f.customer);
  CHECK(std::get<DeskPhoneTarget>(ring.target).extensionId == "1002");
  CHECK(names(o.outputs) == std::vector<std::string>{"statusChanged:" + kBob + "=busy", "callIn:" + kBob});
  CHECK(o.outputs.only<HangUpLeg>().empty());  // alice stays on the line
  CHECK(f.gw.callTransfer(kAlice, f.sid, kBob, "", f.clock.now()).result.error->code == errc::invalidTransition);

  SUBCASE("bob answers: bridged to the customer, alice released, transfer") {
    Outputs out = f.fact(LegAnswered{ring.leg});
    CHECK(indexOf<ReofferLeg>(out) < indexOf<HangUpLeg>(out));
    CHECK(out.only<ReofferLeg>()[0].leg == f.customer);
    CHECK(out.only<HangUpLeg>()[0].leg == f.alice);
    CHECK(out.only<BridgeLegs>()[0].b == ring.leg);
    CHECK(names(out) == std::vector<std::string>{"transfer:" + kAlice, "statusChanged:" + kAlice + "=arrange",
                                                 "userAccessed:" + kBob});
    CHECK(out.events()[0].data["userId"] == kBob);
    CHECK(f.gw.listSessions()["sessions"][0]["userId"] == kBob);
    // The customer hangs up: bob's leg is hung up, his session ended.
    out = f.fact(LegEnded{f.customer, 0});
    CHECK(out.only<HangUpLeg>()[0].leg == ring.leg);
    CHECK(names(out)[0] == "sessionEnded:" + kBob);
  }
  SUBCASE("bob does not answer: the call stays with alice") {
    Outputs out = f.fire(lastStartedTimer(o.outputs));
    CHECK(out.only<CancelLeg>()[0].leg == ring.leg);
    CHECK(names(out) == std::vector<std::string>{"statusChanged:" + kBob + "=free"});
    CHECK(f.gw.listSessions()["sessions"][0]["userId"] == kAlice);
    CHECK(f.gw.listSessions()["sessions"][0]["state"] == "active");
  }
  SUBCASE("alice hangs up while bob rings, and bob does not answer: the customer goes to the queue") {
    Outputs out = f.fact(LegEnded{f.alice, 0});
    CHECK(out.only<HangUpLeg>().empty());  // the customer stays
    CHECK(names(out) == std::vector<std::string>{"statusChanged:" + kAlice + "=arrange"});
    out = f.fact(LegFailed{ring.leg, 486});
    CHECK(f.gw.listSessions()["sessions"][0]["state"] == "offering");
    CHECK(f.gw.liveCalls() == 1);
    // Only bob, who refused, is free: the queue timer (started first) turns the
    // customer away with a BYE, as the leg is answered.
    out = f.fire(startedTimer(out, 0));
    CHECK(out.only<HangUpLeg>()[0].leg == f.customer);
    CHECK(out.only<RejectLeg>().empty());
  }
}

TEST_CASE("core transfer: the desk phone's REFER is the same transfer, and its NOTIFY says how it went") {
  Bridged f;
  f.online(kBob);
  SUBCASE("to an extension: 200 once bob answered, before alice's BYE") {
    Outputs out = f.fact(LegRefer{f.alice, "1002"});
    REQUIRE(out.only<RingLeg>().size() == 1);
    CHECK(out.only<NotifyRefer>().empty());  // 100 Trying was the SIP layer's
    out = f.fact(LegAnswered{out.only<RingLeg>()[0].leg});
    REQUIRE(out.only<NotifyRefer>().size() == 1);
    CHECK(out.only<NotifyRefer>()[0].code == 200);
    CHECK(indexOf<NotifyRefer>(out) < indexOf<HangUpLeg>(out));
  }
  SUBCASE("to an extension whose agent does not answer: the call stays, the NOTIFY says 480") {
    Outputs out = f.fact(LegRefer{f.alice, "1002"});
    out = f.fire(lastStartedTimer(out));
    CHECK(out.only<NotifyRefer>()[0].code == 480);
    CHECK(out.only<NotifyRefer>()[0].leg == f.alice);
  }
  SUBCASE("to the service number: queued at once, 200 before the BYE") {
    Outputs out = f.fact(LegRefer{f.alice, kNumber});
    CHECK(out.only<NotifyRefer>()[0].code == 200);
    CHECK(indexOf<NotifyRefer>(out) < indexOf<HangUpLeg>(out));
    CHECK(names(out)[0] == "transfer:" + kAlice);
  }
  SUBCASE("to nobody, or from the customer's side: refused in the NOTIFY") {
    CHECK(f.fact(LegRefer{f.alice, "9999"}).only<NotifyRefer>()[0].code == 404);
    CHECK(f.fact(LegRefer{f.customer, "1002"}).only<NotifyRefer>()[0].code == 403);
    CHECK(f.gw.listSessions()["sessions"][0]["userId"] == kAlice);
  }
}

namespace {

// Alice holds the customer and calls bob from the same phone (an internal call).
struct Consulting : Bridged {
  LegId consultAlice = 0, bobLeg = 0;
  Consulting() {
    online(kBob);
    fact(LegHeld{alice, true});
    InboundDecision d = gw.onInboundCall(InboundCall{"", "1002", "1001", "", json::array(), "1001"}, clock.now());
    REQUIRE(d.outputs.only<RingLeg>().size() == 1);
    consultAlice = d.leg;
    bobLeg = d.outputs.only<RingLeg>()[0].leg;
  }
};

}  // namespace

TEST_CASE("core transfer: attended, the phone's REFER with Replaces puts the customer through to the colleague") {
  for (const bool inCustomersDialog : {true, false}) {
    CAPTURE(inCustomersDialog);
    Consulting f;
    const LegId consultAlice = f.consultAlice, bobLeg = f.bobLeg;
    f.fact(LegAnswered{bobLeg});
    const LegRefer refer = inCustomersDialog ? LegRefer{f.alice, "1002", true, consultAlice}
                                             : LegRefer{consultAlice, "1001", true, f.alice};
    Outputs out = f.fact(refer);
    REQUIRE(out.only<NotifyRefer>().size() == 1);
    CHECK(out.only<NotifyRefer>()[0].leg == refer.leg);
    CHECK(out.only<NotifyRefer>()[0].code == 200);
    CHECK(indexOf<NotifyRefer>(out) < indexOf<HangUpLeg>(out));  // the phone is told before its legs go
    const auto hangUps = out.only<HangUpLeg>();
    REQUIRE(hangUps.size() == 2);
    CHECK(hangUps[0].leg == f.alice);
    CHECK(hangUps[1].leg == consultAlice);
    CHECK(out.only<BridgeLegs>()[0].a == f.customer);
    CHECK(out.only<BridgeLegs>()[0].b == bobLeg);
    const ReofferLeg re = out.only<ReofferLeg>()[0];
    CHECK((re.leg == f.customer && re.with == bobLeg && re.then == bobLeg));
    CHECK(names(out) == std::vector<std::string>{"sessionEnded:" + kBob, "sessionEnded:" + kAlice, "unHold:" + kAlice,
                                                 "transfer:" + kAlice, "statusChanged:" + kAlice + "=arrange",
                                                 "callIn:" + kBob, "userAccessed:" + kBob});
    CHECK(out.events()[3].data["userId"] == kBob);
    CHECK(out.events()[5].data["sessionId"] == f.sid);
    CHECK(f.gw.liveCalls() == 1);
    json sessions = f.gw.listSessions()["sessions"];
    for (const auto& s : sessions) {
      if (s["sessionId"] == f.sid) {
        CHECK(s["userId"] == kBob);
        CHECK(s["state"] == "active");
      } else {
        CHECK(s["state"] == "ended");
      }
    }
    // Bob now has the customer: either one hanging up ends it, bob wraps up.
    out = f.fact(LegEnded{f.customer, 0});
    CHECK(out.only<HangUpLeg>()[0].leg == bobLeg);
    CHECK(names(out) == std::vector<std::string>{"sessionEnded:" + kBob, "statusChanged:" + kBob + "=arrange"});
  }
}

TEST_CASE("core transfer: attended before the colleague answers, or refused") {
  Consulting f;
  const LegId consultAlice = f.consultAlice, bobLeg = f.bobLeg;
  SUBCASE("bob still rings: the consultation is withdrawn and the customer transferred to him blind") {
    Outputs out = f.fact(LegRefer{f.alice, "1002", true, consultAlice});
    CHECK(out.only<CancelLeg>()[0].leg == bobLeg);
    CHECK(out.only<RejectLeg>()[0].leg == consultAlice);
    CHECK(out.only<RejectLeg>()[0].code == 487);
    REQUIRE(out.only<RingLeg>().size() == 1);
    const RingLeg ring = out.only<RingLeg>()[0];
    CHECK(ring.offerFrom == f.customer);
    CHECK(out.only<NotifyRefer>().empty());  // told when bob answers, or not
    out = f.fact(LegAnswered{ring.leg});
    CHECK(out.only<NotifyRefer>()[0].leg == f.alice);
    CHECK(out.only<NotifyRefer>()[0].code == 200);
    CHECK(f.gw.listSessions(kBob)["sessions"].size() == 2);  // the withdrawn consultation, and the customer
  }
  SUBCASE("refused: no such dialog, the customer's own leg, or a dialog of someone else") {
    f.fact(LegAnswered{bobLeg});
    CHECK(f.fact(LegRefer{f.alice, "1002", true, 0}).only<NotifyRefer>()[0].code == 481);
    CHECK(f.fact(LegRefer{f.alice, "1002", true, f.customer}).only<NotifyRefer>()[0].code == 403);
    CHECK(f.fact(LegRefer{f.alice, "1002", true, bobLeg}).only<NotifyRefer>()[0].code == 403);
    CHECK(f.fact(LegRefer{f.customer, "1002", true, consultAlice}).only<NotifyRefer>()[0].code == 403);
    CHECK(f.gw.liveCalls() == 2);  // nothing moved
  }
}

TEST_CASE("core mute: the agent's leg silenced towards the customer, with anchored media only") {
  Bridged f;
  // bypass: the audio does not go through seatbridge.
  CHECK(f.gw.callMute(kAlice, f.sid, true).result.error->code == errc::mediaNotAnchored);
  CHECK(f.gw.callIsMicMuted(kAlice, f.sid).result.error->code == errc::mediaNotAnchored);
  Directory d = callDirectory();
  d.mediaAnchored = true;
  f.gw.reconfigure(d, f.clock.now());
  CHECK(f.gw.callIsMicMuted(kAlice, f.sid).result.data["muted"] == false);
  Outcome o = f.gw.callMute(kAlice, f.sid, true);
  REQUIRE(o.result.ok());
  CHECK(o.result.data["muted"] == true);
  REQUIRE(o.outputs.only<MuteLeg>().size() == 1);
  CHECK(o.outputs.only<MuteLeg>()[0].leg == f.alice);
  CHECK(o.outputs.only<MuteLeg>()[0].muted);
  CHECK(f.gw.callIsMicMuted(kAlice, f.sid).result.data["muted"] == true);
  CHECK(f.gw.callMute(kAlice, f.sid, true).outputs.empty());  // already muted: nothing more to do
  o = f.gw.callMute(kAlice, f.sid, false);
  REQUIRE(o.outputs.only<MuteLeg>().size() == 1);
  CHECK_FALSE(o.outputs.only<MuteLeg>()[0].muted);
  CHECK(f.gw.callMute(kBob, f.sid, true).result.error->code == errc::sessionNotFound);  // not his session
}

TEST_CASE("core hold with anchored media: the customer hears the group's music, the agent's phone is held") {
  Bridged f;
  Directory d = callDirectory();
  d.mediaAnchored = true;
  d.skillGroups[0].holdMusic = "/srv/music/sales.wav";
  f.gw.reconfigure(d, f.clock.now());
  Outcome o = f.gw.callHold(kAlice, f.sid, true, f.clock.now());
  REQUIRE(o.result.ok());
  REQUIRE(o.outputs.only<PlayToLeg>().size() == 1);
  const PlayToLeg play = o.outputs.only<PlayToLeg>()[0];
  CHECK((play.leg == f.customer && play.play && play.file == "/srv/music/sales.wav"));
  REQUIRE(o.outputs.only<HoldLeg>().size() == 1);  // the customer's leg stays sendrecv
  CHECK(o.outputs.only<HoldLeg>()[0].leg == f.alice);
  CHECK(names(o.outputs) == std::vector<std::string>{"hold:" + kAlice});
  o = f.gw.callHold(kAlice, f.sid, false, f.clock.now());
  REQUIRE(o.outputs.only<PlayToLeg>().size() == 1);
  CHECK_FALSE(o.outputs.only<PlayToLeg>()[0].play);
  CHECK(o.outputs.only<HoldLeg>()[0].leg == f.alice);
  CHECK_FALSE(o.outputs.only<HoldLeg>()[0].hold);
}

// Queue bounds and agent presence over core/ alone: a full queue overflows or
// refuses, missed offers in a row put the agent in notReady, and a session's
// maximum lifetime ends it.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "calls_fixture.hpp"
#include "core/gateway.hpp"

using namespace sb::core;
using namespace sb::core::test::calls;
using nlohmann::json;

namespace {

// sales holds one waiting customer and overflows to support, which holds one
// and then refuses. carol works support only.
const std::string kCarol = "carol@example.com";

Directory boundedDirectory(int maxMissed = 0, int maxSessionSeconds = 14400) {
  Directory d = callDirectory();
  d.skillGroups[0].maxQueueLength = 1;
  d.skillGroups[0].overflowTo = "support";
  sb::config::SkillGroup support{"support", "Support", 20, 120, 0, 0, 20, "", {}, {}, "", ""};
  support.maxQueueLength = 1;
  d.skillGroups.push_back(support);
  sb::config::Agent carol = agentOf(kCarol, "1003", 1);
  carol.skillGroups = {{"support", 1}};
  d.agents.push_back(carol);
  sb::config::Extension e;
  e.id = "1003";
  d.extensions.push_back(e);
  d.calls.maxMissedOffers = maxMissed;
  d.calls.maxSessionSeconds = maxSessionSeconds;
  return d;
}

std::string sessionOf(const Outputs& out) {
  for (const auto& e : out.events())
    if (e.data.contains("sessionId")) return e.data["sessionId"];
  return "";
}

// Dan, mobile only (through the trunk), offered a customer's call with
// mobileConfirmSeconds 8: his mobile is ringing.
struct MobileConfirm {
  static Directory directory() {
    Directory d = boundedDirectory();
    d.calls.mobileConfirmSeconds = 8;
    return d;
  }
  Fixture fx{directory()};  // not `f`: doctest names the test body f()
  InboundDecision in;
  LegId mobile = 0;
  MobileConfirm() {
    fx.online(kDan);
    in = fx.call();
    REQUIRE(in.outputs.only<RingLeg>().size() == 1);
    mobile = in.outputs.only<RingLeg>()[0].leg;
  }
};

}  // namespace

TEST_CASE("core queue: a full queue overflows to its overflowTo group, then refuses 486 as busy") {
  Fixture f(boundedDirectory());
  f.online(kAlice);  // online without a phone: sales calls wait
  f.online(kCarol);  // likewise for support
  InboundDecision first = f.call();
  CHECK(first.outputs.only<RejectLeg>().empty());
  CHECK(f.gw.queueStats(f.clock.now()).at("sales").waiting == 1);

  InboundDecision second = f.call();  // sales is full: to support
  CHECK(second.outputs.only<RejectLeg>().empty());
  CHECK(f.gw.queueStats(f.clock.now()).at("support").waiting == 1);
  CHECK(f.gw.queueStats(f.clock.now()).at("sales").waiting == 1);

  InboundDecision third = f.call();  // both full
  REQUIRE(third.outputs.only<RejectLeg>().size() == 1);
  CHECK(third.outputs.only<RejectLeg>()[0].code == 486);
  CHECK(third.outputs.only<RingLeg>().empty());
  const json row = sessionRow(f, sessionOf(third.outputs));
  CHECK(row["endState"] == "busy");
  CHECK(row["closeBy"] == "admin");
  CHECK(row["mainReason"] == "queueFull");

  // An overflowed call is served by the overflow group's agents.
  f.registerPhone("1003");
  CHECK(f.gw.queueStats(f.clock.now()).at("support").waiting == 1);
  CHECK(f.gw.listAgents(f.clock.now())["agents"][3]["status"] == "busy");
}

TEST_CASE("core queue: a full queue without overflowTo refuses at once, a place freed takes the next call") {
  Directory d = boundedDirectory();
  d.skillGroups[0].overflowTo.clear();
  Fixture f(std::move(d));
  f.online(kAlice);
  InboundDecision first = f.call();
  InboundDecision second = f.call();
  REQUIRE(second.outputs.only<RejectLeg>().size() == 1);
  CHECK(second.outputs.only<RejectLeg>()[0].code == 486);
  f.fact(LegCancelled{first.leg});  // the first customer gives up
  InboundDecision third = f.call();
  CHECK(third.outputs.only<RejectLeg>().empty());
}

TEST_CASE("core queue: maxMissedOffers offers missed in a row put the agent in notReady, with no free between") {
  Fixture f(boundedDirectory(2));
  f.registerPhone("1001");
  f.online(kAlice);
  InboundDecision d = f.call();
  // First miss: the offer rings out, alice is free and, nobody else being
  // eligible, offered it again 2 s later.
  Outputs t = f.fire(ringTimer(d.outputs));
  CHECK(names(t) == std::vector<std::string>{"autoTransfer:" + kAlice, "statusChanged:" + kAlice + "=free"});
  t = f.fire(lastStartedTimer(t));
  CHECK(names(t) == std::vector<std::string>{"statusChanged:" + kAlice + "=busy", "callIn:" + kAlice});
  // Second miss (the device gives up, 480): notReady, and the call waits.
  Outputs m = f.fact(LegFailed{t.only<RingLeg>()[0].leg, 480});
  CHECK(names(m) == std::vector<std::string>{"statusChanged:" + kAlice + "=notReady"});
  CHECK(m.only<RingLeg>().empty());
  CHECK(f.gw.queueStats(f.clock.now()).at("sales").waiting == 1);
}

TEST_CASE("core queue: a refusal starts the missed count again") {
  Fixture f(boundedDirectory(2));
  f.registerPhone("1001");
  f.online(kAlice);
  InboundDecision d = f.call();
  Outputs t = f.fire(ringTimer(d.outputs));                      // missed: 1
  t = f.fire(lastStartedTimer(t));
  Outputs r = f.fact(LegFailed{t.only<RingLeg>()[0].leg, 486});  // refused: 0
  r = f.fire(lastStartedTimer(r));
  Outputs m = f.fact(LegFailed{r.only<RingLeg>()[0].leg, 408});  // missed: 1
  CHECK(names(m).back() == "statusChanged:" + kAlice + "=free");  // still free
  m = f.fire(lastStartedTimer(m));
  Outputs m2 = f.fact(LegFailed{m.only<RingLeg>()[0].leg, 408}); // missed: 2
  CHECK(names(m2) == std::vector<std::string>{"statusChanged:" + kAlice + "=notReady"});
}

TEST_CASE("core queue: with maxMissedOffers 0 an agent who misses stays free") {
  Fixture f(boundedDirectory(0));
  f.registerPhone("1001");
  f.online(kAlice);
  InboundDecision d = f.call();
  LegId leg = d.outputs.only<RingLeg>()[0].leg;
  for (int i = 0; i < 5; ++i) {
    Outputs m = f.fact(LegFailed{leg, 408});
    CHECK(m.only<RingLeg>().empty());  // not at once: a device that fails instantly is not rung in a loop
    m = f.fire(lastStartedTimer(m));
    REQUIRE(m.only<RingLeg>().size() == 1);
    leg = m.only<RingLeg>()[0].leg;
  }
  CHECK(f.gw.agentGetStatus(kAlice, f.clock.now()).result.data["status"] == "busy");
}

TEST_CASE("core queue: maxSessionSeconds ends a bridged call with BYE on both legs, closeBy timer") {
  Fixture f(boundedDirectory(0, 3600));
  f.registerPhone("1001");
  f.online(kAlice);
  InboundDecision d = f.call();
  // The life timer is the one that runs an hour from arrival.
  TimerAction lifeTimer{};
  for (const auto& t : d.outputs.timers())
    if (t.op == TimerAction::Op::start && t.deadline == f.clock.now() + std::chrono::seconds(3600)) lifeTimer = t;
  REQUIRE(lifeTimer.id != 0);
  const LegId agentLeg = d.outputs.only<RingLeg>()[0].leg;
  Outputs a = f.fact(LegAnswered{agentLeg});
  CHECK(a.only<AnswerLeg>().size() == 1);
  Outputs e = f.fire(lifeTimer);
  REQUIRE(e.only<HangUpLeg>().size() == 2);
  CHECK(e.events()[0].name == "sessionEnded");
  CHECK(e.events()[0].data["closeBy"] == "timer");
  CHECK(e.events()[0].data["mainReason"] == "maxSessionLifetime");
  CHECK(f.gw.liveCalls() == 0);
  // The BYEs' answers (or their absence) change nothing afterwards.
  CHECK(f.fact(LegEnded{agentLeg, 0}).actions.empty());
}

TEST_CASE("core queue: a call that ends cancels its life timer") {
  Fixture f(boundedDirectory(0, 3600));
  f.online(kAlice);
  InboundDecision d = f.call();
  Outputs c = f.fact(LegCancelled{d.leg});
  size_t cancelled = 0;
  for (const auto& t : c.timers())
    if (t.op == TimerAction::Op::cancel) ++cancelled;
  CHECK(cancelled == 2);  // queue and life
}

TEST_CASE_FIXTURE(MobileConfirm, "core offers: a mobile that answers is bridged only after the agent's key (mobileConfirmSeconds)") {
  CHECK(std::holds_alternative<TrunkTarget>(in.outputs.only<RingLeg>()[0].target));

  Outputs a = fx.fact(LegAnswered{mobile});
  CHECK(a.only<AnswerLeg>().empty());  // the customer still hears ringing
  CHECK(a.events().empty());
  TimerAction confirm{};
  for (const auto& t : a.timers())
    if (t.op == TimerAction::Op::start) confirm = t;
  CHECK(confirm.deadline == fx.clock.now() + std::chrono::seconds(8));

  fx.clock.advance(std::chrono::seconds(2));
  Outputs k = fx.fact(LegDigit{mobile, '5'});
  REQUIRE(k.only<AnswerLeg>().size() == 1);
  CHECK(k.only<AnswerLeg>()[0].with == mobile);
  CHECK(indexOf<AnswerLeg>(k) < indexOf<BridgeLegs>(k));
  CHECK(names(k) == std::vector<std::string>{"userAccessed:" + kDan});
  // The confirmation timer is gone with the key.
  bool cancelled = false;
  for (const auto& t : k.timers()) cancelled = cancelled || (t.op == TimerAction::Op::cancel && t.id == confirm.id);
  CHECK(cancelled);

  // Keys on the bridged call are dtmf events, by side.
  Outputs c = fx.fact(LegDigit{in.leg, '#'});
  REQUIRE(c.events().size() == 1);
  CHECK(c.events()[0].name == "dtmf");
  CHECK(c.events()[0].data["digit"] == "#");
  CHECK(c.events()[0].data["flow"] == "IN");
  CHECK(fx.fact(LegDigit{mobile, '1'}).events()[0].data["flow"] == "OUT");
}

TEST_CASE_FIXTURE(MobileConfirm, "core offers: a mobile answer without a key in time is a missed offer, hung up and moved on") {
  Outputs a = fx.fact(LegAnswered{mobile});
  Outputs t = fx.fire(startedTimer(a));
  REQUIRE(t.only<CancelLeg>().size() == 1);  // an answered leg: the SIP layer sends BYE
  CHECK(t.only<CancelLeg>()[0].leg == mobile);
  CHECK(t.only<AnswerLeg>().empty());
  CHECK(names(t) == std::vector<std::string>{"autoTransfer:" + kDan, "statusChanged:" + kDan + "=free"});
  const json all = fx.gw.listSessions();
  CHECK(all["sessions"][0]["offers"][0]["outcome"] == "missed");
  // A digit on the withdrawn leg changes nothing.
  CHECK(fx.fact(LegDigit{mobile, '5'}).only<AnswerLeg>().empty());
}

TEST_CASE_FIXTURE(MobileConfirm, "core offers: a mobile that hangs up before its key is a failed offer") {
  fx.fact(LegAnswered{mobile});
  Outputs e = fx.fact(LegEnded{mobile, 0});
  CHECK(e.only<CancelLeg>().empty());  // already gone on the wire
  CHECK(e.only<HangUpLeg>().empty());  // the customer's leg stays: the call goes on waiting
  CHECK(names(e).back() == "statusChanged:" + kDan + "=free");
}

// Queue music (docs/CORE.md, "Queue music"): with anchored media and a
// skill group's queueMusic, the customer waits hearing it as early media.
TEST_CASE("core queue music: a 183 answered by seatbridge and the group's music while waiting, stopped at the answer") {
  Directory d = anchoredDirectory();
  d.skillGroups[0].queueMusic = "/srv/music/queue.wav";
  Fixture f(std::move(d));
  f.registerPhone("1001");
  f.online(kAlice);
  InboundDecision in = f.call();
  REQUIRE(in.outputs.only<SendProvisional>().size() == 1);
  const SendProvisional p = in.outputs.only<SendProvisional>()[0];
  CHECK((p.leg == in.leg && p.code == 183 && p.answerHere && p.with == 0));
  REQUIRE(in.outputs.only<PlayToLeg>().size() == 1);
  const PlayToLeg play = in.outputs.only<PlayToLeg>()[0];
  CHECK((play.leg == in.leg && play.play && play.file == "/srv/music/queue.wav"));
  const LegId alice = in.outputs.only<RingLeg>()[0].leg;
  Outputs answer = f.fact(LegAnswered{alice});
  REQUIRE(answer.only<PlayToLeg>().size() == 1);
  CHECK((answer.only<PlayToLeg>()[0].leg == in.leg && !answer.only<PlayToLeg>()[0].play));
  REQUIRE(answer.only<AnswerLeg>().size() == 1);
  CHECK(answer.only<AnswerLeg>()[0].leg == in.leg);
}

TEST_CASE("core queue music: none configured, or bypass media: ringing (180) and no music") {
  for (bool anchored : {true, false}) {
    Directory d = callDirectory();
    d.mediaAnchored = anchored;
    if (!anchored) d.skillGroups[0].queueMusic = "/srv/music/queue.wav";  // the loader refuses this; core ignores it
    Fixture f(std::move(d));
    f.registerPhone("1001");
    f.online(kAlice);
    InboundDecision in = f.call();
    REQUIRE(in.outputs.only<SendProvisional>().size() == 1);
    CHECK(in.outputs.only<SendProvisional>()[0].code == 180);
    CHECK_FALSE(in.outputs.only<SendProvisional>()[0].answerHere);
    CHECK(in.outputs.only<PlayToLeg>().empty());
    CHECK(f.fact(LegAnswered{in.outputs.only<RingLeg>()[0].leg}).only<PlayToLeg>().empty());
  }
}

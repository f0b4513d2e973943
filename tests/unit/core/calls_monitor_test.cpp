// Supervisors in core: who may monitor, the gain matrix each mode makes, the
// supervisor hanging up (the call goes on), the call ending (the supervisor's
// leg goes), and takeover (the agent released, the supervisor in their place).
#include <doctest/doctest.h>

#include "calls_fixture.hpp"

using namespace sb::core;
using namespace sb::core::test::calls;

namespace {

Directory supervisedDirectory() { return withSupervisor(anchoredDirectory()); }

// A call answered by alice, sue online at her desk phone.
struct Answered : AnsweredCall {
  explicit Answered(Directory d = supervisedDirectory()) : AnsweredCall(std::move(d), {{"1003", kSue}}) {}
  // Call.monitor by sue, her leg answered: the leg and the answer's outputs.
  std::pair<LegId, Outputs> monitor(const std::string& mode) {
    Outcome o = gw.callMonitor(kSue, sid, false, mode, clock.now());
    REQUIRE(o.result.ok());
    REQUIRE(o.outputs.only<RingLeg>().size() == 1);
    const RingLeg ring = o.outputs.only<RingLeg>()[0];
    CHECK(ring.offerFrom == customer);  // the customer's offer, at sue's own endpoint
    CHECK(std::get<DeskPhoneTarget>(ring.target).extensionId == "1003");
    return {ring.leg, fact(LegAnswered{ring.leg})};
  }
};

// The row of the gain matrix `out` gives `leg` (the last one; nullopt: none).
std::optional<std::vector<LegId>> row(const Outputs& out, LegId leg) {
  std::optional<std::vector<LegId>> r;
  for (const MixLeg& m : out.only<MixLeg>()) {
    if (m.leg != leg) continue;
    r.emplace();
    for (const MixSource& s : m.sources) r->push_back(s.leg);
  }
  return r;
}

using Legs = std::vector<LegId>;

}  // namespace

TEST_CASE("core monitor: only a supervisor of the session's skill group, on an answered call, with anchored media") {
  Answered f;
  CHECK(f.gw.callMonitor(kBob, f.sid, false, "listen", f.clock.now()).result.error->code == errc::notSupervisor);
  CHECK(f.gw.callMonitor(kSue, "nope", false, "listen", f.clock.now()).result.error->code == errc::sessionNotFound);
  CHECK(f.gw.callMonitor(kSue, f.sid, false, "shout", f.clock.now()).result.error->code == errc::invalidParams);
  CHECK(f.gw.callMonitor(kSue, f.sid, true, "listen", f.clock.now()).result.error->code ==
        errc::transcriptUnavailable);
  CHECK(f.gw.callTakeover(kAlice, f.sid, f.clock.now()).result.error->code == errc::notSupervisor);

  Directory other = supervisedDirectory();
  other.agents.back().supervises = {"support"};
  Answered g(other);
  CHECK(g.gw.callMonitor(kSue, g.sid, false, "listen", g.clock.now()).result.error->code == errc::notSupervisor);

  Directory bypass = supervisedDirectory();
  bypass.mediaAnchored = false;
  Answered h(bypass);
  CHECK(h.gw.callMonitor(kSue, h.sid, false, "listen", h.clock.now()).result.error->code == errc::mediaNotAnchored);
}

TEST_CASE("core monitor: listen, whisper and barge are rows of the gain matrix; each change an event to both") {
  Answered f;
  auto [sue, answered] = f.monitor("listen");
  CHECK(row(answered, sue) == Legs{f.customer, f.alice});  // the supervisor hears both
  CHECK(row(answered, f.alice) == Legs{});                  // the agent hears the customer, relayed
  CHECK(row(answered, f.customer) == Legs{});
  CHECK(names(answered) == std::vector<std::string>{"monitorStarted:" + kAlice, "monitorStarted:" + kSue});
  CHECK(answered.events()[0].data["mode"] == "listen");
  CHECK(answered.events()[0].data["supervisorUserId"] == kSue);
  CHECK(f.gw.findAgent(kSue)->status() == AgentStatus::busy);  // offered no customer meanwhile

  Outcome o = f.gw.callMonitor(kSue, f.sid, false, "whisper", f.clock.now());
  REQUIRE(o.result.ok());
  CHECK(o.outputs.only<RingLeg>().empty());
  CHECK(row(o.outputs, f.alice) == Legs{f.customer, sue});  // the agent hears the coaching
  CHECK(row(o.outputs, f.customer) == Legs{});              // the customer does not
  CHECK(names(o.outputs) == std::vector<std::string>{"monitorChanged:" + kAlice, "monitorChanged:" + kSue});

  o = f.gw.callMonitor(kSue, f.sid, false, "barge", f.clock.now());
  CHECK(row(o.outputs, f.alice) == Legs{f.customer, sue});
  CHECK(row(o.outputs, f.customer) == Legs{f.alice, sue});
  CHECK(o.outputs.events()[0].data["mode"] == "barge");

  // Another supervisor cannot join; the same mode again changes nothing.
  CHECK(f.gw.callMonitor(kSue, f.sid, false, "barge", f.clock.now()).outputs.empty());
}

TEST_CASE("core monitor: the supervisor hanging up ends the monitoring only") {
  Answered f;
  auto [sue, answered] = f.monitor("barge");
  Outputs out = f.fact(LegEnded{sue});
  CHECK(out.only<HangUpLeg>().empty());  // neither the customer nor the agent
  CHECK(row(out, f.alice) == Legs{});
  CHECK(row(out, f.customer) == Legs{});
  CHECK(names(out) == std::vector<std::string>{"monitorEnded:" + kAlice, "monitorEnded:" + kSue,
                                               "statusChanged:" + kSue + "=free"});
  CHECK(out.events()[0].data["reason"] == "supervisorHungUp");
  CHECK(f.session()["state"] != "ended");
  // A second monitoring may start.
  CHECK(f.gw.callMonitor(kSue, f.sid, false, "listen", f.clock.now()).result.ok());
}

TEST_CASE("core monitor: the call ending hangs up the supervisor; an unanswered ring is withdrawn") {
  Answered f;
  auto [sue, answered] = f.monitor("listen");
  Outputs out = f.fact(LegEnded{f.customer});
  const auto hangups = out.only<HangUpLeg>();
  CHECK(std::count_if(hangups.begin(), hangups.end(), [&](const HangUpLeg& h) { return h.leg == sue; }) == 1);
  CHECK(std::count_if(hangups.begin(), hangups.end(), [&](const HangUpLeg& h) { return h.leg == f.alice; }) == 1);
  CHECK(f.gw.findAgent(kSue)->status() == AgentStatus::free);
  CHECK(out.events()[0].data["reason"] == "sessionEnded");

  Answered g;
  Outcome o = g.gw.callMonitor(kSue, g.sid, false, "listen", g.clock.now());
  const TimerAction ring = lastStartedTimer(o.outputs);
  Outputs missed = g.fire(ring);
  CHECK(missed.only<CancelLeg>().size() == 1);
  CHECK(names(missed) == std::vector<std::string>{"monitorEnded:" + kAlice, "monitorEnded:" + kSue,
                                                  "statusChanged:" + kSue + "=free"});
  CHECK(missed.events()[0].data["reason"] == "missed");
}

TEST_CASE("core takeover: the supervisor in the agent's place, the agent released") {
  Answered f;
  auto [sue, answered] = f.monitor("whisper");
  Outcome o = f.gw.callTakeover(kSue, f.sid, f.clock.now());
  REQUIRE(o.result.ok());
  const Outputs& out = o.outputs;
  REQUIRE(out.only<BridgeLegs>().size() == 1);
  CHECK((out.only<BridgeLegs>()[0].a == f.customer && out.only<BridgeLegs>()[0].b == sue));
  REQUIRE(out.only<HangUpLeg>().size() == 1);
  CHECK(out.only<HangUpLeg>()[0].leg == f.alice);
  CHECK(row(out, sue) == Legs{});  // relayed again, from the customer
  CHECK(row(out, f.customer) == Legs{});
  CHECK(names(out)[0] == "takenOver:" + kAlice);
  CHECK(names(out)[1] == "takenOver:" + kSue);
  CHECK(f.gw.findAgent(kAlice)->status() == AgentStatus::arrange);  // after-call work, as after a transfer
  CHECK(f.session()["userId"] == kSue);
  // The agent's leg is gone; the supervisor hanging up now ends the call.
  CHECK(f.fact(LegEnded{f.alice}).only<HangUpLeg>().empty());
  Outputs end = f.fact(LegEnded{sue});
  REQUIRE(end.only<HangUpLeg>().size() == 1);
  CHECK(end.only<HangUpLeg>()[0].leg == f.customer);
  CHECK(endState(f, f.sid) == "ok");
}

TEST_CASE("core takeover without monitoring first: the supervisor rung, bridged on the answer") {
  Answered f;
  Outcome o = f.gw.callTakeover(kSue, f.sid, f.clock.now());
  REQUIRE(o.result.ok());
  REQUIRE(o.outputs.only<RingLeg>().size() == 1);
  const LegId sue = o.outputs.only<RingLeg>()[0].leg;
  CHECK(o.outputs.only<HangUpLeg>().empty());  // the agent stays until the supervisor answers
  Outputs out = f.fact(LegAnswered{sue});
  REQUIRE(out.only<BridgeLegs>().size() == 1);
  CHECK(out.only<HangUpLeg>()[0].leg == f.alice);
  CHECK(f.session()["userId"] == kSue);
}

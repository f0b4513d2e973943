// Calls agents place from the desk phone, over core/ alone: the toll-fraud
// guard (dial plan, limits, emergency numbers), the customer's leg through a
// trunk with failover, and the life cycle callOuted -> calloutAccepted ->
// sessionEnded.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "calls_fixture.hpp"
#include "core/gateway.hpp"

using namespace sb::core;
using namespace sb::core::test::calls;

namespace {

const std::string kCustomer = "+15552345678";

sb::config::Trunk trunkOf(const std::string& name, std::vector<std::string> patterns) {
  sb::config::Trunk t;
  t.name = name;
  t.dialPatterns = std::move(patterns);
  t.callerNumbers = {"+15550199000"};
  return t;
}

// alice (1001) and bob (1002) dial what the sales group allows, national
// numbers, presented as the group's number; two trunks carry them; 1003 is a
// lobby phone bound to no agent, with a location number for emergencies.
Directory outboundDirectory() {
  Directory d = callDirectory();
  d.skillGroups[0].dialPatterns = {"+1NXXNXXXXXX"};
  d.skillGroups[0].callerNumbers = {"+15550199111"};
  sb::config::Extension lobby;
  lobby.id = "1003";
  lobby.locationNumber = "+15550100333";
  d.extensions.push_back(lobby);
  d.trunks = {"pbx", "backup", "inbound"};
  d.trunkConfigs = {trunkOf("pbx", {"+1NXXNXXXXXX"}), trunkOf("backup", {"+1NXX."}), trunkOf("inbound", {})};
  return d;
}

struct Dialler : Fixture {
  Dialler() : Fixture(outboundDirectory()) {}
  InboundDecision dial(const std::string& number, const std::string& ext = "1001") {
    return gw.onInboundCall(InboundCall{"", number, ext, "", json::array(), ext}, clock.now());
  }
};

std::string refusal(const InboundDecision& d) {
  for (const auto& e : d.outputs.events())
    if (e.name == "calloutRefused") return e.data["reason"];
  return "";
}

int rejectCode(const Outputs& out) {
  const auto r = out.only<RejectLeg>();
  return r.empty() ? 0 : r[0].code;
}

}  // namespace

TEST_CASE("core outbound: the dial plan refuses, with the code and the reason") {
  Dialler f;
  f.online(kAlice);
  struct Case {
    std::string number, ext;
    int code;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {"alice", "1001", 484, "invalidNumber"},
           {"+4420712345678", "1001", 403, "numberNotAllowed"},  // international, not in the plan
           {"+19005551234", "1001", 403, "numberNotAllowed"},    // premium: N matches 9, the prefix is not spelled
           {"5551234567", "1001", 403, "numberNotAllowed"},
           {kCustomer, "1003", 403, "numberNotAllowed"},  // a phone bound to no agent dials emergencies only
       }) {
    CAPTURE(c.number);
    InboundDecision d = f.dial(c.number, c.ext);
    REQUIRE(d.outputs.only<RejectLeg>().size() == 1);
    CHECK(d.outputs.only<RejectLeg>()[0].code == c.code);
    CHECK(d.outputs.only<RejectLeg>()[0].leg == d.leg);
    CHECK(refusal(d) == c.reason);
    CHECK(d.outputs.only<RingLeg>().empty());
  }
  // The event is the agent's; the extension and the number as dialled travel with it.
  InboundDecision d = f.dial("+19005551234");
  const Event e = d.outputs.events()[0];
  CHECK(e.userId == kAlice);
  CHECK(e.data["extensionId"] == "1001");
  CHECK(e.data["calleePhoneNumber"] == "+19005551234");
  CHECK(f.gw.listSessions()["sessions"].empty());  // refused before any session
  CHECK(f.gw.agentGetStatus(kAlice, f.clock.now()).result.data["status"] == "free");
}

TEST_CASE("core outbound: no trunk carries it (403 noRoute), or those that do are down (503 trunksDown)") {
  Directory dir = outboundDirectory();
  dir.agents[0].dialPatterns = std::vector<std::string>{"+1NXXNXXXXXX", "+44X."};
  Dialler f;
  f.gw.reconfigure(dir, f.clock.now());
  InboundDecision d = f.dial("+4420712345678");
  CHECK(rejectCode(d.outputs) == 403);
  CHECK(refusal(d) == "noRoute");
  f.gw.onTrunkState("pbx", false, f.clock.now());
  f.gw.onTrunkState("backup", false, f.clock.now());
  d = f.dial(kCustomer);
  CHECK(rejectCode(d.outputs) == 503);
  CHECK(refusal(d) == "trunksDown");
  // A trunk known down is skipped: the backup alone is tried once it is up.
  f.gw.onTrunkState("backup", true, f.clock.now());
  d = f.dial(kCustomer);
  REQUIRE(d.outputs.only<RingLeg>().size() == 1);
  CHECK(std::get<TrunkTarget>(d.outputs.only<RingLeg>()[0].target).trunk == "backup");
}

TEST_CASE("core outbound: dialled, answered and hung up by the customer") {
  Dialler f;
  f.online(kAlice);
  InboundDecision d = f.dial("+1(555)234-5678");
  CHECK(names(d.outputs) == std::vector<std::string>{"statusChanged:" + kAlice + "=busy", "callOuted:" + kAlice});
  REQUIRE(d.outputs.only<RingLeg>().size() == 1);
  const RingLeg ring = d.outputs.only<RingLeg>()[0];
  CHECK(ring.offerFrom == d.leg);  // the phone's offer goes to the customer
  CHECK(std::get<TrunkTarget>(ring.target).trunk == "pbx");
  CHECK(std::get<TrunkTarget>(ring.target).number == kCustomer);  // separators dropped
  CHECK(ring.callerNumber == "+15550199111");                     // the skill group's, before the trunk's
  const Event outed = d.outputs.events()[1];
  CHECK(outed.data["calleePhoneNumber"] == kCustomer);
  CHECK(outed.data["callerPhoneNumber"] == "+15550199111");
  CHECK(outed.data["serverType"] == "staffExtensionSeat");
  CHECK(outed.data["tabUUID"] == "");
  const std::string sid = outed.data["sessionId"];

  // 183 with early media: the phone's 183 carries the customer leg's SDP.
  Outputs out = f.fact(LegRinging{ring.leg, 183, false, true});
  REQUIRE(out.only<SendProvisional>().size() == 1);
  CHECK(out.only<SendProvisional>()[0].leg == d.leg);
  CHECK(out.only<SendProvisional>()[0].code == 183);
  CHECK(out.only<SendProvisional>()[0].with == ring.leg);

  out = f.fact(LegAnswered{ring.leg});
  CHECK(indexOf<AnswerLeg>(out) < indexOf<BridgeLegs>(out));
  CHECK(out.only<AnswerLeg>()[0].leg == d.leg);
  CHECK(out.only<AnswerLeg>()[0].with == ring.leg);
  CHECK(names(out) == std::vector<std::string>{"calloutAccepted:" + kAlice});
  // Digits from the customer are the IN flow.
  out = f.fact(LegDigit{ring.leg, '5'});
  CHECK(out.events()[0].data["flow"] == "IN");

  out = f.fact(LegEnded{ring.leg, 0});
  CHECK(out.only<HangUpLeg>()[0].leg == d.leg);
  CHECK(names(out) == std::vector<std::string>{"sessionEnded:" + kAlice, "statusChanged:" + kAlice + "=arrange"});
  CHECK(out.events()[0].data["closeBy"] == "client");
  const json s = f.gw.listSessions()["sessions"][0];
  CHECK(s["sessionId"] == sid);
  CHECK(s["direction"] == "outbound");
  CHECK(s["endState"] == "ok");
}

TEST_CASE("core outbound: a trunk's 5xx fails over to the next; the customer's busy ends it") {
  Dialler f;
  f.online(kAlice);
  InboundDecision d = f.dial(kCustomer);
  const LegId first = d.outputs.only<RingLeg>()[0].leg;
  Outputs out = f.fact(LegFailed{first, 503});
  REQUIRE(out.only<RingLeg>().size() == 1);
  const RingLeg second = out.only<RingLeg>()[0];
  CHECK(second.leg != first);
  CHECK(std::get<TrunkTarget>(second.target).trunk == "backup");
  CHECK(second.callerNumber == "+15550199111");  // the skill group's number, whatever the trunk
  CHECK(out.only<RejectLeg>().empty());
  CHECK(out.events().empty());
  // A 486 is the customer's answer for the number: no failover (the last
  // trunk has no dialPatterns anyway), the phone hears busy.
  out = f.fact(LegFailed{second.leg, 486});
  CHECK(out.only<RingLeg>().empty());
  CHECK(rejectCode(out) == 486);
  CHECK(out.only<RejectLeg>()[0].leg == d.leg);
  CHECK(endState(f, d.outputs.events()[1].data["sessionId"]) == "busy");
  CHECK(f.gw.agentGetStatus(kAlice, f.clock.now()).result.data["status"] == "free");  // no wrap-up: no talk
}

TEST_CASE("core outbound: failover presents the next trunk's own number when the number was the trunk's") {
  Directory dir = outboundDirectory();
  dir.skillGroups[0].callerNumbers.clear();
  dir.trunkConfigs[1].callerNumbers = {"+15550188000"};
  Dialler f;
  f.gw.reconfigure(dir, f.clock.now());
  InboundDecision d = f.dial(kCustomer);
  CHECK(d.outputs.only<RingLeg>()[0].callerNumber == "+15550199000");
  Outputs out = f.fact(LegFailed{d.outputs.only<RingLeg>()[0].leg, 500});
  REQUIRE(out.only<RingLeg>().size() == 1);
  CHECK(out.only<RingLeg>()[0].callerNumber == "+15550188000");
}

TEST_CASE("core outbound: SIP answers map to the SDK's end states in one table") {
  CHECK(endStateForSip(404) == EndState::numberNotExist);
  CHECK(endStateForSip(484) == EndState::numberNotExist);
  CHECK(endStateForSip(486) == EndState::busy);
  CHECK(endStateForSip(600) == EndState::busy);
  CHECK(endStateForSip(480) == EndState::notAnswer);
  CHECK(endStateForSip(408) == EndState::notAnswer);
  CHECK(endStateForSip(603) == EndState::userReject);
  CHECK(endStateForSip(410) == EndState::notInService);
  CHECK(endStateForSip(500) == EndState::error);
}

TEST_CASE("core outbound: the ring bound, the phone's CANCEL and Call.hungUp end a call still dialling") {
  Dialler f;
  f.online(kAlice);
  SUBCASE("the customer never answers") {
    InboundDecision d = f.dial(kCustomer);
    Outputs out = f.fire(lastStartedTimer(d.outputs));  // the ring bound, started last
    CHECK(out.only<CancelLeg>()[0].leg == d.outputs.only<RingLeg>()[0].leg);
    CHECK(rejectCode(out) == 480);
    CHECK(out.events()[0].data["closeBy"] == "timer");
    CHECK(endState(f, out.events()[0].data["sessionId"]) == "notAnswer");
  }
  SUBCASE("the agent puts the handset down") {
    InboundDecision d = f.dial(kCustomer);
    Outputs out = f.fact(LegCancelled{d.leg});
    CHECK(out.only<CancelLeg>()[0].leg == d.outputs.only<RingLeg>()[0].leg);
    CHECK(out.events()[0].data["closeBy"] == "seat");
    CHECK(endState(f, out.events()[0].data["sessionId"]) == "callerCancel");
  }
  SUBCASE("the agent hangs up from the socket") {
    InboundDecision d = f.dial(kCustomer);
    const std::string sid = d.outputs.events()[1].data["sessionId"];
    Outcome o = f.gw.callHungUp(kAlice, sid, f.clock.now());
    REQUIRE(o.result.ok());
    CHECK(rejectCode(o.outputs) == 487);
    CHECK(o.outputs.only<CancelLeg>().size() == 1);
    CHECK(endState(f, sid) == "callerCancel");
  }
  CHECK(f.gw.liveCalls() == 0);
  CHECK(f.gw.agentGetStatus(kAlice, f.clock.now()).result.data["status"] == "free");
}

TEST_CASE("core outbound: per-extension limits, and emergency numbers past all of them") {
  Directory dir = outboundDirectory();
  dir.outbound.maxConcurrentPerExtension = 1;
  dir.outbound.maxPerMinutePerExtension = 2;
  Dialler f;
  f.gw.reconfigure(dir, f.clock.now());
  InboundDecision first = f.dial(kCustomer);
  REQUIRE(first.outputs.only<RingLeg>().size() == 1);
  InboundDecision d = f.dial(kCustomer);
  CHECK(rejectCode(d.outputs) == 403);
  CHECK(refusal(d) == "concurrentLimit");
  CHECK(f.dial(kCustomer, "1002").outputs.only<RingLeg>().size() == 1);  // bob's phone has its own count
  f.fact(LegFailed{first.outputs.only<RingLeg>()[0].leg, 486});
  InboundDecision second = f.dial(kCustomer);  // the second in this minute
  REQUIRE(second.outputs.only<RingLeg>().size() == 1);
  f.fact(LegFailed{second.outputs.only<RingLeg>()[0].leg, 486});
  d = f.dial(kCustomer);
  CHECK(rejectCode(d.outputs) == 403);
  CHECK(refusal(d) == "rateLimit");
  f.clock.t = f.clock.t + std::chrono::seconds(60);  // the first call of the minute drops out of the window
  CHECK(f.dial(kCustomer).outputs.only<RingLeg>().size() == 1);
  // An emergency call goes out from a phone at its limits, through the first
  // trunk even though no dial pattern of it matches, as the location number.
  d = f.dial("911");
  REQUIRE(d.outputs.only<RingLeg>().size() == 1);
  CHECK(refusal(d).empty());
  d = f.dial("112", "1003");
  REQUIRE(d.outputs.only<RingLeg>().size() == 1);
  CHECK(d.outputs.only<RingLeg>()[0].callerNumber == "+15550100333");
  CHECK(std::get<TrunkTarget>(d.outputs.only<RingLeg>()[0].target).trunk == "pbx");
}

TEST_CASE("core internal calls: an extension dialled rings that phone; both agents busy, both told of the end") {
  Dialler f;
  f.registerPhone("1002");
  f.online(kAlice);
  f.online(kBob);
  InboundDecision d = f.dial("1002");
  CHECK(names(d.outputs) == std::vector<std::string>{"statusChanged:" + kAlice + "=busy",
                                                      "statusChanged:" + kBob + "=busy", "callIn:" + kBob});
  REQUIRE(d.outputs.only<RingLeg>().size() == 1);
  const RingLeg ring = d.outputs.only<RingLeg>()[0];
  CHECK(std::get<DeskPhoneTarget>(ring.target).extensionId == "1002");
  CHECK(ring.offerFrom == d.leg);
  const Event callIn = d.outputs.events()[2];
  CHECK(callIn.data["type"] == "internal");
  CHECK(callIn.data["peerUserId"] == kAlice);
  const std::string sid = callIn.data["sessionId"];
  CHECK(refusal(d).empty());  // no dial plan: sales allows no 4-digit numbers

  Outputs out = f.fact(LegRinging{ring.leg, 180, false, false});
  CHECK(out.only<SendProvisional>()[0].leg == d.leg);
  out = f.fact(LegAnswered{ring.leg});
  CHECK(out.only<AnswerLeg>()[0].leg == d.leg);
  CHECK(names(out) == std::vector<std::string>{"userAccessed:" + kBob});
  // Each agent finds the session in their own list, and either may hang up.
  CHECK(f.gw.listSessions(kBob)["sessions"].size() == 1);
  CHECK(f.gw.listSessions(kAlice)["sessions"].size() == 1);
  Outcome o = f.gw.callHungUp(kBob, sid, f.clock.now());
  REQUIRE(o.result.ok());
  CHECK(o.outputs.only<HangUpLeg>().size() == 2);
  CHECK(names(o.outputs) == std::vector<std::string>{"sessionEnded:" + kBob, "sessionEnded:" + kAlice,
                                                     "statusChanged:" + kAlice + "=free",
                                                     "statusChanged:" + kBob + "=free"});
  const json s = f.gw.listSessions()["sessions"][0];
  CHECK(s["type"] == "internal");
  CHECK(s["peerUserId"] == kBob);
  CHECK(s["endState"] == "ok");
}

TEST_CASE("core internal calls: a busy agent's line is busy, and nobody calls themselves") {
  Dialler f;
  f.registerPhone("1002");
  f.online(kAlice);
  f.online(kBob);
  InboundDecision first = f.dial("1002", "1003");  // the lobby phone calls bob
  REQUIRE(first.outputs.only<RingLeg>().size() == 1);
  InboundDecision d = f.dial("1002");
  CHECK(rejectCode(d.outputs) == 486);
  CHECK(d.outputs.only<RingLeg>().empty());
  CHECK(endState(f, d.outputs.events()[1].data["sessionId"]) == "busy");
  CHECK(f.gw.agentGetStatus(kAlice, f.clock.now()).result.data["status"] == "free");
  d = f.dial("1001");
  CHECK(rejectCode(d.outputs) == 486);
  CHECK(d.outputs.events().empty());
}

TEST_CASE("core hold: Call.hold and Call.unHold re-INVITE both legs; the phone's and the far end's own holds") {
  Fixture f;
  f.registerPhone("1001");
  f.online(kAlice);
  InboundDecision in = f.call();
  const LegId agentLeg = in.outputs.only<RingLeg>()[0].leg;
  const std::string sid = in.outputs.events().back().data["sessionId"];
  CHECK(f.gw.callHold(kAlice, sid, true, f.clock.now()).result.error->code == errc::invalidTransition);  // ringing
  f.fact(LegAnswered{agentLeg});

  Outcome o = f.gw.callHold(kAlice, sid, true, f.clock.now());
  REQUIRE(o.result.ok());
  const auto holds = o.outputs.only<HoldLeg>();
  REQUIRE(holds.size() == 2);
  CHECK((holds[0].leg == in.leg && holds[0].hold));  // the customer's first
  CHECK((holds[1].leg == agentLeg && holds[1].hold));
  CHECK(names(o.outputs) == std::vector<std::string>{"hold:" + kAlice});
  CHECK(o.outputs.events()[0].data["by"] == "seat");
  CHECK(f.gw.listSessions()["sessions"][0]["state"] == "held");
  CHECK(f.gw.callHold(kAlice, sid, true, f.clock.now()).result.error->code == errc::invalidTransition);
  o = f.gw.callHold(kAlice, sid, false, f.clock.now());
  REQUIRE(o.result.ok());
  CHECK(o.outputs.only<HoldLeg>()[0].hold == false);
  CHECK(names(o.outputs) == std::vector<std::string>{"unHold:" + kAlice});

  // The customer's side holds (a PBX's re-INVITE with sendonly), then the phone's key.
  Outputs out = f.fact(LegHeld{in.leg, true});
  CHECK(names(out) == std::vector<std::string>{"hold:" + kAlice});
  CHECK(out.events()[0].data["by"] == "client");
  CHECK(out.only<HoldLeg>().empty());  // relayed as it came: nothing to send
  out = f.fact(LegHeld{in.leg, true});
  CHECK(out.events().empty());  // no change, no event
  out = f.fact(LegHeld{in.leg, false});
  CHECK(names(out) == std::vector<std::string>{"unHold:" + kAlice});
  out = f.fact(LegHeld{agentLeg, true});
  CHECK(out.events()[0].data["by"] == "seat");
  CHECK(f.gw.listSessions()["sessions"][0]["state"] == "held");
  // A held session still ends as any other.
  out = f.fact(LegEnded{in.leg, 0});
  CHECK(names(out)[0] == "sessionEnded:" + kAlice);
}

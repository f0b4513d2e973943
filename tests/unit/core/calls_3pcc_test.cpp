// Call.startOutboundCall over core/ alone: the agent's device first (an
// offerless INVITE), then the customer through a trunk, then the re-offer
// that bridges them (RFC 3725), with the dial plan and the end states.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "calls_fixture.hpp"
#include "core/gateway.hpp"

using namespace sb::core;
using namespace sb::core::test::calls;

namespace {

const std::string kCustomer = "+15552345678";

Directory dialDirectory() {
  Directory d = callDirectory();
  d.skillGroups[0].dialPatterns = {"+1NXXNXXXXXX"};
  d.skillGroups[0].callerNumbers = {"+15550199111"};
  sb::config::Trunk t;
  t.name = "pbx";
  t.dialPatterns = {"+1NXXNXXXXXX"};
  t.callerNumbers = {"+15550199000"};
  d.trunkConfigs = {t};
  return d;
}

Gateway::OutboundRequest to(const std::string& number) {
  Gateway::OutboundRequest r;
  r.phoneNumber = number;
  return r;
}

}  // namespace

TEST_CASE("core startOutboundCall: desk phone first, then the customer, then the re-offer") {
  Fixture f(dialDirectory());
  f.registerPhone("1001");
  f.online(kAlice);
  Gateway::OutboundRequest r = to(kCustomer);
  r.uui = "order=42";
  r.phoneDesc = "renewal";
  Outcome o = f.gw.callStartOutboundCall(kAlice, r, f.clock.now());
  REQUIRE(o.result.ok());
  CHECK(o.result.data["serverType"] == "staffExtensionSeat");
  CHECK(o.result.data["calleePhoneNumber"] == kCustomer);
  CHECK(o.result.data["callerPhoneNumber"] == "+15550199111");
  CHECK(o.result.data["remark"] == "renewal");
  const std::string sid = o.result.data["sessionId"];
  CHECK(names(o.outputs) == std::vector<std::string>{"statusChanged:" + kAlice + "=busy"});
  REQUIRE(o.outputs.only<RingLeg>().size() == 1);
  const RingLeg agent = o.outputs.only<RingLeg>()[0];
  CHECK(agent.thirdParty);
  CHECK(agent.offerFrom == 0);
  CHECK(std::get<DeskPhoneTarget>(agent.target).extensionId == "1001");

  // The agent answers: the customer is dialled with the agent's offer, callOuted.
  Outputs out = f.fact(LegAnswered{agent.leg});
  REQUIRE(out.only<RingLeg>().size() == 1);
  const RingLeg customer = out.only<RingLeg>()[0];
  CHECK(customer.offerFrom == agent.leg);
  CHECK(std::get<TrunkTarget>(customer.target).number == kCustomer);
  CHECK(customer.uui == "order=42");
  CHECK_FALSE(customer.thirdParty);
  CHECK(names(out) == std::vector<std::string>{"callOuted:" + kAlice});
  // The parked agent hears of no 18x.
  CHECK(f.fact(LegRinging{customer.leg, 183, false, true}).only<SendProvisional>().empty());

  out = f.fact(LegAnswered{customer.leg});
  REQUIRE(out.only<ReofferLeg>().size() == 1);
  CHECK(out.only<ReofferLeg>()[0].leg == agent.leg);
  CHECK(out.only<ReofferLeg>()[0].with == customer.leg);
  CHECK(out.only<AnswerLeg>().empty());
  CHECK(indexOf<ReofferLeg>(out) < indexOf<BridgeLegs>(out));
  CHECK(names(out) == std::vector<std::string>{"calloutAccepted:" + kAlice});
  const json s = f.gw.listSessions()["sessions"][0];
  CHECK(s["uui"] == "order=42");
  CHECK(s["state"] == "active");

  out = f.fact(LegEnded{agent.leg, 0});
  CHECK(out.only<HangUpLeg>()[0].leg == customer.leg);
  CHECK(out.events()[0].data["closeBy"] == "seat");
}

TEST_CASE("core startOutboundCall: a mobile agent's dual call, and who gives up how") {
  Fixture f(dialDirectory());
  f.online(kDan);  // mobile only, useMobileAccept 2
  SUBCASE("the mobile does not answer within the bound") {
    Outcome o = f.gw.callStartOutboundCall(kDan, to(kCustomer), f.clock.now());
    REQUIRE(o.result.ok());
    CHECK(o.result.data["serverType"] == "staffPhoneSeat");
    const RingLeg agent = o.outputs.only<RingLeg>()[0];
    CHECK(std::get<TrunkTarget>(agent.target).number == "+15550100004");
    Outputs out = f.fire(lastStartedTimer(o.outputs));
    CHECK(out.only<HangUpLeg>()[0].leg == agent.leg);
    CHECK(endState(f, o.result.data["sessionId"]) == "seatGiveUp");
  }
  SUBCASE("the customer is busy: the agent's answered leg is hung up") {
    Outcome o = f.gw.callStartOutboundCall(kDan, to(kCustomer), f.clock.now());
    const RingLeg agent = o.outputs.only<RingLeg>()[0];
    Outputs out = f.fact(LegAnswered{agent.leg});
    out = f.fact(LegFailed{out.only<RingLeg>()[0].leg, 486});
    CHECK(out.only<HangUpLeg>()[0].leg == agent.leg);
    CHECK(out.events()[0].data["closeBy"] == "client");
    CHECK(endState(f, o.result.data["sessionId"]) == "busy");
  }
  SUBCASE("the agent hangs up while the customer rings") {
    Outcome o = f.gw.callStartOutboundCall(kDan, to(kCustomer), f.clock.now());
    const RingLeg agent = o.outputs.only<RingLeg>()[0];
    Outputs out = f.fact(LegAnswered{agent.leg});
    const LegId customer = out.only<RingLeg>()[0].leg;
    out = f.fact(LegEnded{agent.leg, 0});
    CHECK(out.only<CancelLeg>()[0].leg == customer);
    CHECK(endState(f, o.result.data["sessionId"]) == "callerCancel");
  }
  CHECK(f.gw.liveCalls() == 0);
  CHECK(f.gw.agentGetStatus(kDan, f.clock.now()).result.data["status"] == "free");
}

TEST_CASE("core startOutboundCall: with mobile confirmation, the customer is dialled on the agent's key") {
  Directory d = dialDirectory();
  d.calls.mobileConfirmSeconds = 5;
  Fixture f(std::move(d));
  f.online(kDan);
  Outcome o = f.gw.callStartOutboundCall(kDan, to(kCustomer), f.clock.now());
  REQUIRE(o.result.ok());
  const RingLeg agent = o.outputs.only<RingLeg>()[0];
  Outputs out = f.fact(LegAnswered{agent.leg});
  CHECK(out.only<RingLeg>().empty());  // a voicemail may have answered: nobody dialled yet
  CHECK(names(out).empty());
  SUBCASE("the agent's key") {
    out = f.fact(LegDigit{agent.leg, '1'});
    REQUIRE(out.only<RingLeg>().size() == 1);
    CHECK(std::get<TrunkTarget>(out.only<RingLeg>()[0].target).number == kCustomer);
    CHECK(names(out) == std::vector<std::string>{"callOuted:" + kDan});
    CHECK(f.fact(LegDigit{agent.leg, '2'}).empty());  // a second key changes nothing
  }
  SUBCASE("no key within the bound: a voicemail, hung up") {
    out = f.fire(lastStartedTimer(out));
    CHECK(out.only<HangUpLeg>()[0].leg == agent.leg);
    CHECK(out.only<RingLeg>().empty());
    CHECK(out.events()[0].data["closeBy"] == "timer");
    CHECK(endState(f, o.result.data["sessionId"]) == "seatGiveUp");
    CHECK(f.gw.liveCalls() == 0);
  }
}

TEST_CASE("core startOutboundCall: refusals before anything rings") {
  Fixture f(dialDirectory());
  CHECK(f.gw.callStartOutboundCall(kAlice, to(kCustomer), f.clock.now()).result.error->code == errc::agentOffline);
  f.online(kAlice);
  // alice's desk phone is not registered and she may not use a mobile.
  CHECK(f.gw.callStartOutboundCall(kAlice, to(kCustomer), f.clock.now()).result.error->code ==
        errc::deviceUnavailable);
  f.registerPhone("1001");
  Outcome o = f.gw.callStartOutboundCall(kAlice, to("+19005551234"), f.clock.now());
  CHECK(o.result.error->code == "numberNotAllowed");
  CHECK(names(o.outputs) == std::vector<std::string>{"calloutRefused:" + kAlice});
  Gateway::OutboundRequest r = to(kCustomer);
  r.callerPhoneNumber = "+15550000000";  // not one of hers to present
  CHECK(f.gw.callStartOutboundCall(kAlice, r, f.clock.now()).result.error->code == errc::invalidParams);
  r.callerPhoneNumber = "+15550199000";  // the trunk's: fine
  r.skillGroupId = "support";            // not her group
  CHECK(f.gw.callStartOutboundCall(kAlice, r, f.clock.now()).result.error->code == errc::invalidParams);
  r.skillGroupId = "sales";
  r.uui = std::string(Gateway::kMaxUui + 1, 'x');
  CHECK(f.gw.callStartOutboundCall(kAlice, r, f.clock.now()).result.error->code == errc::invalidParams);
  CHECK(f.gw.callStartOutboundCall(kAlice, to("1002"), f.clock.now()).result.error->code == errc::invalidParams);
  r.uui.clear();
  REQUIRE(f.gw.callStartOutboundCall(kAlice, r, f.clock.now()).result.ok());
  // In a call now: a second one is refused.
  CHECK(f.gw.callStartOutboundCall(kAlice, to(kCustomer), f.clock.now()).result.error->code ==
        errc::invalidTransition);
}

TEST_CASE("core startInternalCall: the caller's phone first, then the callee's, callIn internal, both busy") {
  Fixture f(dialDirectory());
  f.registerPhone("1001");
  f.registerPhone("1002");
  f.online(kAlice);
  CHECK(f.gw.callStartInternalCall(kAlice, kBob, false, f.clock.now()).result.error->code == errc::agentOffline);
  f.online(kBob);
  CHECK(f.gw.callStartInternalCall(kAlice, kAlice, false, f.clock.now()).result.error->code == errc::invalidParams);
  CHECK(f.gw.callStartInternalCall(kAlice, kBob, true, f.clock.now()).result.error->code ==
        errc::deviceUnavailable);  // bob has no mobile
  Outcome o = f.gw.callStartInternalCall(kAlice, kBob, false, f.clock.now());
  REQUIRE(o.result.ok());
  const std::string sid = o.result.data["sessionId"];
  CHECK(names(o.outputs) == std::vector<std::string>{"statusChanged:" + kAlice + "=busy",
                                                     "statusChanged:" + kBob + "=busy"});
  const RingLeg caller = o.outputs.only<RingLeg>()[0];
  CHECK(caller.thirdParty);
  CHECK(std::get<DeskPhoneTarget>(caller.target).extensionId == "1001");

  Outputs out = f.fact(LegAnswered{caller.leg});
  REQUIRE(out.only<RingLeg>().size() == 1);
  const RingLeg callee = out.only<RingLeg>()[0];
  CHECK(std::get<DeskPhoneTarget>(callee.target).extensionId == "1002");
  CHECK(callee.offerFrom == caller.leg);
  CHECK(names(out) == std::vector<std::string>{"callIn:" + kBob});
  CHECK(out.events()[0].data["type"] == "internal");
  CHECK(out.events()[0].data["peerUserId"] == kAlice);

  out = f.fact(LegAnswered{callee.leg});
  CHECK(out.only<ReofferLeg>()[0].leg == caller.leg);
  CHECK(names(out) == std::vector<std::string>{"userAccessed:" + kBob});
  out = f.fact(LegEnded{caller.leg, 0});
  CHECK(out.only<HangUpLeg>()[0].leg == callee.leg);
  CHECK(names(out) == std::vector<std::string>{"sessionEnded:" + kBob, "sessionEnded:" + kAlice,
                                               "statusChanged:" + kAlice + "=free", "statusChanged:" + kBob + "=free"});
  CHECK(f.gw.listSessions(kBob)["sessions"][0]["type"] == "internal");
}

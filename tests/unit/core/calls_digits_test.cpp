// Call.sendDigits over core/ alone: digits go into the customer's leg of the
// agent's answered session, validated first; nothing is sent otherwise.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "calls_fixture.hpp"
#include "core/gateway.hpp"

using namespace sb::core;
using namespace sb::core::test::calls;

TEST_CASE("core Call.sendDigits: an answered session's customer leg gets the digits, upper-cased") {
  Fixture f;
  f.registerPhone("1001");
  f.online(kAlice);
  InboundDecision in = f.call();
  const LegId ring = in.outputs.only<RingLeg>()[0].leg;
  const std::string sid = in.outputs.events().back().data["sessionId"];

  // Still ringing: no call to send digits into.
  CHECK(f.gw.callSendDigits(kAlice, sid, "1").result.error->code == errc::invalidTransition);

  f.fact(LegAnswered{ring});
  Outcome o = f.gw.callSendDigits(kAlice, sid, "12*#ad");
  REQUIRE(o.result.ok());
  CHECK(o.result.data["dtmfText"] == "12*#AD");
  REQUIRE(o.outputs.only<SendDigits>().size() == 1);
  CHECK(o.outputs.only<SendDigits>()[0].leg == in.leg);  // the customer's, not the agent's
  CHECK(o.outputs.only<SendDigits>()[0].digits == "12*#AD");
  CHECK(o.outputs.events().empty());

  // Another agent's session is unknown to bob.
  CHECK(f.gw.callSendDigits(kBob, sid, "1").result.error->code == errc::sessionNotFound);
}

TEST_CASE("core Call.sendDigits: what is not 1-32 DTMF digits is refused before the session is looked at") {
  Fixture f;
  for (const std::string& bad : std::vector<std::string>{"", "12e", "1 2", "E", std::string(Gateway::kMaxDigits + 1, '1')}) {
    Outcome o = f.gw.callSendDigits(kAlice, "no-such-session", bad);
    REQUIRE_FALSE(o.result.ok());
    CHECK(o.result.error->code == errc::invalidParams);
    CHECK(o.outputs.empty());
  }
  CHECK(f.gw.callSendDigits(kAlice, "no-such-session", std::string(Gateway::kMaxDigits, '9')).result.error->code ==
        errc::sessionNotFound);
}

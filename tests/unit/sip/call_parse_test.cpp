// Keys carried in INFO requests (application/dtmf-relay, application/dtmf): what
// confirms a mobile's offer and becomes the dtmf event.
#include <doctest/doctest.h>

#include "sip/call_parse.hpp"

using sb::sip::parseDtmfInfo;

TEST_CASE("dtmf info: application/dtmf-relay gives the Signal's key") {
  CHECK(parseDtmfInfo("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n") == '5');
  CHECK(parseDtmfInfo("Application/DTMF-Relay", "Duration=100\nSignal= # \n") == '#');
  CHECK(parseDtmfInfo("application/dtmf-relay", "Signal=*\r\n") == '*');
  CHECK(parseDtmfInfo("application/dtmf-relay", "Signal=10\r\n") == '*');  // RFC 4733 event numbers
  CHECK(parseDtmfInfo("application/dtmf-relay", "Signal=11") == '#');
  CHECK(parseDtmfInfo("application/dtmf-relay", "signal=d") == 'D');
  CHECK(parseDtmfInfo("application/dtmf-relay; charset=utf-8", "Signal=0") == '0');
}

TEST_CASE("dtmf info: application/dtmf is the key alone") {
  CHECK(parseDtmfInfo("application/dtmf", "7") == '7');
  CHECK(parseDtmfInfo("application/dtmf", "  9\r\n") == '9');
}

TEST_CASE("dtmf info: anything else is no key") {
  CHECK_FALSE(parseDtmfInfo("application/sdp", "Signal=5").has_value());
  CHECK_FALSE(parseDtmfInfo("application/dtmf-relay", "Duration=160").has_value());
  CHECK_FALSE(parseDtmfInfo("application/dtmf-relay", "Signal=55").has_value());
  CHECK_FALSE(parseDtmfInfo("application/dtmf-relay", "Signal=E").has_value());
  CHECK_FALSE(parseDtmfInfo("application/dtmf-relay", "Signal").has_value());
  CHECK_FALSE(parseDtmfInfo("application/dtmf-relay", "").has_value());
  CHECK_FALSE(parseDtmfInfo("application/dtmf", "12").has_value());
  CHECK_FALSE(parseDtmfInfo("", "5").has_value());
}

#include <doctest/doctest.h>

#include "core/vocabulary.hpp"
#include "fakes.hpp"

using namespace sb::core;
using sb::core::test::str;

TEST_CASE("core vocabulary: every agent status round-trips through its wire name") {
  for (AgentStatus s : kAllAgentStatuses) CHECK(parseAgentStatus(toString(s)) == s);
  CHECK_FALSE(parseAgentStatus("Free").has_value());  // exact spelling only
  CHECK_FALSE(parseAgentStatus("").has_value());
}

TEST_CASE("core vocabulary: requested statuses are the SDK's settable ones") {
  const struct {
    const char* wire;
    bool settable;
  } rows[] = {{"free", true},  {"rest", true},     {"arrange", true}, {"notReady", true}, {"stopNotReady", true},
              {"busy", false}, {"offline", false}, {"away", false},   {"FREE", false}};
  for (const auto& r : rows) {
    CAPTURE(r.wire);
    CHECK(parseRequestedStatus(r.wire).has_value() == r.settable);
  }
}

TEST_CASE("core vocabulary: end states are the SDK's call-record codes") {
  const char* names[] = {"ok",          "error",      "unconnected", "seatGiveUp",     "ivrGiveUp", "waitingGiveUp",
                         "ringingGiveUp", "noSeatOnline", "notWorkTime", "blackList",    "notAnswer", "userReject",
                         "powerOff",    "numberNotExist", "busy",     "callerCancel", "notInService", "clientError"};
  for (const char* n : names) {
    CAPTURE(n);
    const auto e = parseEndState(n);
    REQUIRE(e.has_value());
    CHECK(str(toString(*e)) == n);
  }
}

TEST_CASE("core vocabulary: session attributes round-trip") {
  CHECK((parseSessionType("internal") == SessionType::internal));
  CHECK((parseServerType("staffPhoneSeat") == ServerType::staffPhoneSeat));
  CHECK_FALSE(parseServerType("staffSeat").has_value());  // web seats are not served
  CHECK((parseDirection("outbound") == Direction::outbound));
  CHECK((parseCloseBy("timer") == CloseBy::timer));
  CHECK(str(toString(SessionState::held)) == "held");
  CHECK(str(toString(DeviceState::idle)) == "idle");
}

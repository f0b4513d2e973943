// The wait for the ACK of our 2xx beside nta (lib/sip/dialog/ack_wait.hpp):
// an early Timer H from nta is not believed (Sofia 1.12.11's cached clock,
// docs/ARCHITECTURE.md), the wait lasts 64*T1 from our 2xx (RFC 3261
// §13.3.1.4), and the 2xx is retransmitted at T1, 2*T1, ... up to T2 meanwhile.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "parsed_message.hpp"
#include "sip/call_parse.hpp"
#include "sip/dialog/ack_wait.hpp"

using namespace sb::sip::dialog;

namespace {
using sb::sip::test::Parsed;

std::string invite(const std::string& callId, const std::string& fromTag, int cseq, const std::string& branch,
                   const std::string& sentBy = "127.0.0.2:5060") {
  return "INVITE sip:+15550199000@127.0.0.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP " + sentBy + ";rport;branch=" + branch + "\r\n"
         "From: <sip:+15550100999@127.0.0.2>;tag=" + fromTag + "\r\n"
         "To: <sip:+15550199000@127.0.0.1>\r\n"
         "Call-ID: " + callId + "\r\nCSeq: " + std::to_string(cseq) + " INVITE\r\n"
         "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
}

std::string keyOf(const std::string& text) {
  Parsed p(text);
  REQUIRE(p.sip);
  return sb::sip::inviteKey(p.sip);
}
}  // namespace

TEST_CASE("invite key: a retransmission matches its INVITE, nothing else does (RFC 3261 section 17.2.3)") {
  const std::string first = keyOf(invite("c1", "t1", 1, "z9hG4bK-a"));
  CHECK_FALSE(first.empty());
  CHECK(keyOf(invite("c1", "t1", 1, "z9hG4bK-a")) == first);  // the same INVITE again
  CHECK(keyOf(invite("c1", "T1", 1, "Z9HG4BK-A")) == first);  // tags and branch: case-insensitive
  CHECK(keyOf(invite("c1", "t1", 2, "z9hG4bK-b")) != first);  // re-sent after 401/407/422: a new CSeq
  CHECK(keyOf(invite("c1", "t1", 1, "z9hG4bK-b")) != first);  // another branch: another transaction
  CHECK(keyOf(invite("C1", "t1", 1, "z9hG4bK-a")) != first);  // Call-IDs are case-sensitive
  CHECK(keyOf(invite("c1", "t2", 1, "z9hG4bK-a")) != first);
  CHECK(keyOf(invite("c1", "t1", 1, "z9hG4bK-a", "127.0.0.3:5060")) != first);  // another sent-by
}

TEST_CASE("ack wait: an early Timer H from nta is not believed") {
  const int64_t t1x64 = 32000, at = 1'000'000;
  CHECK(timerHIsEarly(at, at + 500, t1x64));      // the bug: ~0.5 s after the 200
  CHECK(timerHIsEarly(at, at + 31'000, t1x64));   // a second early is still early
  CHECK_FALSE(timerHIsEarly(at, at + 31'950, t1x64));  // within the slack: nta read the packet first
  CHECK_FALSE(timerHIsEarly(at, at + 32'000, t1x64));
  CHECK_FALSE(timerHIsEarly(at, at + 40'000, t1x64));  // late (a stalled loop) is believed
  CHECK(timerHIsEarly(at, at + 500, 8000));             // sip.testT1x64Ms
  CHECK_FALSE(timerHIsEarly(at, at + 7950, 8000));
}

TEST_CASE("ack wait: what is left of 64*T1") {
  CHECK(ackWaitLeftMs(0, 0, 32000) == 32000);
  CHECK(ackWaitLeftMs(0, 500, 32000) == 31500);
  CHECK(ackWaitLeftMs(0, 32000, 32000) == 0);
  CHECK(ackWaitLeftMs(0, 90000, 32000) == 0);  // never negative
}

TEST_CASE("ack wait: the 2xx is retransmitted at T1 doubling to T2 (RFC 3261 section 13.3.1.4)") {
  int64_t i = 0;
  std::vector<int64_t> seen;
  for (int n = 0; n < 7; ++n) seen.push_back(i = next2xxIntervalMs(i));
  CHECK(seen == std::vector<int64_t>{500, 1000, 2000, 4000, 4000, 4000, 4000});
}

TEST_CASE("ack wait: a step is a retransmission until the deadline comes first") {
  // 2xx at 0, nta's early Timer H at 500 ms, 64*T1 = 8 s.
  AckWaitStep s = nextAckWaitStep(0, 500, 8000, 500);
  CHECK(s.retransmit);
  CHECK(s.inMs == 500);
  s = nextAckWaitStep(0, 3500, 8000, 4000);  // 4.5 s left: another retransmission at 7.5 s
  CHECK(s.retransmit);
  CHECK(s.inMs == 4000);
  s = nextAckWaitStep(0, 7500, 8000, 4000);  // 0.5 s left: the deadline, no retransmission
  CHECK_FALSE(s.retransmit);
  CHECK(s.inMs == 500);
  s = nextAckWaitStep(0, 9000, 8000, 4000);  // overdue: due at once
  CHECK_FALSE(s.retransmit);
  CHECK(s.inMs == 1);
}

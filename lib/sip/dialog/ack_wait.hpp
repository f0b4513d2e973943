#pragma once
// The wait for the ACK of a 2xx we sent to an INVITE (RFC 3261 §13.3.1.4,
// §17.2.1), as seatbridge runs it beside nta: nta's own Timer H can fire long
// before 64*T1 (Sofia 1.12.11's cached clock, docs/ARCHITECTURE.md "Sofia's
// early Timer H"), so the SIP layer measures the wait itself and keeps
// retransmitting the 2xx until the real deadline. Pure: times are
// milliseconds of a monotonic clock, no Sofia type.
#include <algorithm>
#include <cstdint>

namespace sb::sip::dialog {

// RFC 3261 §17.1.1.1: T1 500 ms, T2 4 s (nta's defaults; only 64*T1 is
// configurable, sip.testT1x64Ms).
inline constexpr int64_t kT1Ms = 500;
inline constexpr int64_t kT2Ms = 4000;

// What is left of 64*T1 since our 2xx went out at `answeredAtMs`: 0 when
// the ACK is overdue and the session is over (§13.3.1.4).
inline int64_t ackWaitLeftMs(int64_t answeredAtMs, int64_t nowMs, int64_t t1x64Ms) {
  return std::max<int64_t>(0, answeredAtMs + t1x64Ms - nowMs);
}

// nta says Timer H fired; it is believed only if no more than `slackMs` of
// the wait is left (nta times it from when it read the packet that led to
// the 2xx, a little before our stamp, so a true Timer H may look a few ms
// early here).
inline bool timerHIsEarly(int64_t answeredAtMs, int64_t nowMs, int64_t t1x64Ms, int64_t slackMs = 100) {
  return ackWaitLeftMs(answeredAtMs, nowMs, t1x64Ms) > slackMs;
}

// §13.3.1.4: the 2xx is retransmitted at intervals starting at T1 and
// doubling up to T2. The interval after `intervalMs` (0: the first one).
inline int64_t next2xxIntervalMs(int64_t intervalMs) {
  return intervalMs <= 0 ? kT1Ms : std::min(2 * intervalMs, kT2Ms);
}

// The next 2xx retransmission, `intervalMs` after `sentAtMs`, never past the
// end of the wait: when that end comes first, the wait is over then.
struct AckWaitStep {
  int64_t inMs = 0;        // when the timer is due, from now
  bool retransmit = true;  // a retransmission is due then; else the deadline
};
inline AckWaitStep nextAckWaitStep(int64_t answeredAtMs, int64_t nowMs, int64_t t1x64Ms, int64_t intervalMs) {
  const int64_t left = ackWaitLeftMs(answeredAtMs, nowMs, t1x64Ms);
  if (intervalMs < left) return {std::max<int64_t>(1, intervalMs), true};
  return {std::max<int64_t>(1, left), false};
}

}  // namespace sb::sip::dialog

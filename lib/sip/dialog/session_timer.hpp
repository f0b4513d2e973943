#pragma once
// RFC 4028 session timers, as seatbridge applies them on each leg of a call: a
// B2BUA is a UA on each leg (RFC 4028 §2, "back-to-back"), so each leg has a
// session timer of its own, negotiated with that leg's peer. Pure: no Sofia
// type here; the SIP layer (call_legs_timers.cpp) reads the headers into
// TimerHeaders and writes the decisions back. Times are in seconds.
#include <cstdint>
#include <optional>

namespace sb::sip::dialog {

// RFC 4028 §4, §5: no Min-SE (and so no session interval) below 90 s.
inline constexpr int kRfcMinSE = 90;

// calls.sessionExpires / calls.minSE (config validates them).
struct TimerPolicy {
  int sessionExpires = 1800;  // the interval we ask for or grant; 0: no session timers at all
  int minSE = kRfcMinSE;      // the smallest interval we accept (our Min-SE)
  bool enabled() const { return sessionExpires > 0; }
};

enum class Refresher { uac, uas };

// What a request or a response says about the session timer.
struct TimerHeaders {
  bool supported = false;  // "timer" in Supported or Require
  bool required = false;   // "timer" in Require
  int sessionExpires = 0;  // Session-Expires delta-seconds; 0: no such header
  std::optional<Refresher> refresher;  // its refresher parameter
  int minSE = 0;           // Min-SE delta-seconds; 0: no such header
};

// The session timer of one dialog as we run it.
struct SessionTimer {
  int interval = 0;        // the session interval; 0: no timer on this dialog
  bool weRefresh = false;  // we are the refresher, else the peer is
  bool active() const { return interval > 0; }
  // RFC 4028 §10: the refresher refreshes at half the interval.
  int64_t refreshInMs() const { return int64_t{interval} * 1000 / 2; }
  // RFC 4028 §10: without a refresh, the session ends (BYE) at the interval
  // less min(32 s, a third of it), so the BYE is out before the peer's own expiry.
  int64_t expireInMs() const {
    const int64_t ms = int64_t{interval} * 1000;
    const int64_t early = ms / 3 < 32'000 ? ms / 3 : 32'000;
    return ms - early;
  }
  // When the dialog's timer should next fire (after a successful refresh).
  int64_t nextInMs() const { return weRefresh ? refreshInMs() : expireInMs(); }
};

// Our answer, as UAS, to an INVITE (initial or re-INVITE) or UPDATE (RFC 4028 §9).
struct UasDecision {
  int status = 200;    // 200, 422 (Session Interval Too Small) or 420 (Bad Extension)
  int minSE = 0;       // 422: the Min-SE to send (§6)
  SessionTimer timer;  // 200: the dialog's timer (inactive: no Session-Expires in the 2xx)
  Refresher refresher = Refresher::uas;  // 200 with an active timer: the 2xx's refresher parameter
  bool requireTimer = false;             // 200: Require: timer in the 2xx (§9: when the UAC refreshes)
};
UasDecision answerRequest(const TimerHeaders& request, const TimerPolicy& policy);

// What we put in an INVITE we send, as UAC (RFC 4028 §7.1): Supported: timer,
// Session-Expires (no refresher parameter: §7.1 recommends leaving the choice
// to the UAS) and Min-SE.
struct UacOffer {
  int sessionExpires = 0;  // 0: no session timer offered (policy disabled)
  int minSE = 0;
};
UacOffer offerFor(const TimerPolicy& policy);
// RFC 4028 §7.1: after a 422 the UAC retries with the 422's Min-SE (and a
// Session-Expires at least that). nullopt: nothing to retry with (no Min-SE,
// or one no larger than what we sent, so a retry would get the same answer).
std::optional<UacOffer> retryAfter422(const UacOffer& sent, int minSEIn422);
// RFC 4028 §7.2: the dialog's timer after the 2xx to our INVITE (or to a
// refresh we sent). A 2xx without Session-Expires comes from a UAS without the
// extension: we refresh alone at the interval we asked for (§3: one UA that
// supports session timers is enough).
SessionTimer onUac2xx(const TimerHeaders& response, const UacOffer& sent);

}  // namespace sb::sip::dialog

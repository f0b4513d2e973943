// RFC 4028 negotiation, both roles; see session_timer.hpp.
#include "sip/dialog/session_timer.hpp"

#include <algorithm>

namespace sb::sip::dialog {

UasDecision answerRequest(const TimerHeaders& rq, const TimerPolicy& policy) {
  UasDecision d;
  if (!policy.enabled()) {
    // RFC 3261 §8.2.2.3: an extension the UAC requires and we do not run is
    // refused 420 (with Unsupported: timer). Otherwise the 2xx carries no
    // Session-Expires and the UAC knows there is no timer (§7.2).
    if (rq.required) d.status = 420;
    return d;
  }
  // RFC 4028 §9: a Session-Expires below our minimum is refused 422 with our
  // Min-SE, but only from a UAC that supports the extension (it can retry,
  // §7.1). Otherwise a proxy put it in (§8.1), and the interval is raised.
  if (rq.sessionExpires > 0 && rq.sessionExpires < policy.minSE && rq.supported) {
    d.status = 422;
    d.minSE = policy.minSE;
    return d;
  }
  // The interval: the request's if any, lowered to ours (§9: the UAS may
  // reduce it), never below the request's Min-SE or ours (§5, §9).
  const int floor = std::max(policy.minSE, rq.minSE);
  const int wanted = rq.sessionExpires > 0 ? std::min(rq.sessionExpires, policy.sessionExpires) : policy.sessionExpires;
  d.timer.interval = std::max(wanted, floor);
  // §9 (table 2): a UAC without the extension cannot refresh, so we do; a
  // refresher the UAC chose stands; with no choice made we take it (uas), so a
  // peer that vanishes is found by our refresh failing, at half the interval.
  if (!rq.supported)
    d.refresher = Refresher::uas;
  else
    d.refresher = rq.refresher.value_or(Refresher::uas);
  d.timer.weRefresh = d.refresher == Refresher::uas;
  // §9: a 2xx naming the UAC refresher MUST carry Require: timer.
  d.requireTimer = d.refresher == Refresher::uac;
  return d;
}

UacOffer offerFor(const TimerPolicy& policy) {
  if (!policy.enabled()) return {};
  return {std::max(policy.sessionExpires, policy.minSE), policy.minSE};
}

std::optional<UacOffer> retryAfter422(const UacOffer& sent, int minSEIn422) {
  if (sent.sessionExpires == 0 || minSEIn422 <= sent.minSE) return std::nullopt;
  return UacOffer{std::max(sent.sessionExpires, minSEIn422), minSEIn422};
}

SessionTimer onUac2xx(const TimerHeaders& rs, const UacOffer& sent) {
  SessionTimer t;
  if (sent.sessionExpires == 0) return t;  // we offered none: none runs
  if (rs.sessionExpires == 0) {
    t.interval = sent.sessionExpires;
    t.weRefresh = true;
    return t;
  }
  // §7.2: the 2xx's interval and refresher are the session's; refresher=uac
  // is us (the UAC). A 2xx without the parameter (which §9 does not allow)
  // leaves it to us, the side that can be sure a refresh happens.
  t.interval = rs.sessionExpires;
  t.weRefresh = rs.refresher.value_or(Refresher::uac) == Refresher::uac;
  return t;
}

}  // namespace sb::sip::dialog

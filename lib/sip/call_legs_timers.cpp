// RFC 4028 session timers on call legs, and the RFC 3262 pieces nta leaves to
// us. seatbridge is a UA on each leg (a B2BUA), so each leg negotiates its own
// session timer with its peer (dialog/session_timer.hpp decides, this file
// reads and writes the headers and runs the timers):
// - the customer's INVITE is answered per §9 (422 below calls.minSE, §6);
// - our INVITEs to phones and mobiles offer Supported: timer, Session-Expires
//   and Min-SE (§7.1), once more after a 422 with its Min-SE; the 2xx says who
//   refreshes (§7.2);
// - when we refresh, at half the interval (§10): UPDATE without a body where
//   the peer allows it (RFC 3311), else a re-INVITE repeating our last SDP of
//   that leg unchanged (RFC 3264 §8); 408/481 or no answer ends the leg;
// - when the peer refreshes and does not, we BYE at interval - min(32, interval/3) (§10);
// - a refresh the peer sends (UPDATE without a body, or a re-INVITE whose SDP is
//   its last one unchanged) is answered here, on that leg: it changes nothing
//   the other leg needs to know; one that changes the session is relayed, and
//   its 2xx carries our Session-Expires for that leg. Every 2xx to a refresh,
//   either way, restarts that leg's timer.
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_string.h>

#include <climits>

#include "common/log.hpp"
#include "metrics/metrics.hpp"
#include "sip/call_legs_parts.hpp"
#include "sip/call_parse.hpp"
#include "sip/sdp_edit.hpp"

namespace sb::sip {
namespace {

dialog::TimerHeaders timerHeadersOf(const sip_t* sip) {
  dialog::TimerHeaders h;
  if (!sip) return h;
  h.required = sip->sip_require && sip_has_feature(sip->sip_require, "timer");
  h.supported = h.required || (sip->sip_supported && sip_has_feature(sip->sip_supported, "timer"));
  if (const sip_session_expires_t* x = sip->sip_session_expires) {
    h.sessionExpires = x->x_delta > INT_MAX ? INT_MAX : static_cast<int>(x->x_delta);
    if (x->x_refresher && su_casematch(x->x_refresher, "uac")) h.refresher = dialog::Refresher::uac;
    if (x->x_refresher && su_casematch(x->x_refresher, "uas")) h.refresher = dialog::Refresher::uas;
  }
  if (sip->sip_min_se) h.minSE = sip->sip_min_se->min_delta > INT_MAX ? INT_MAX : static_cast<int>(sip->sip_min_se->min_delta);
  return h;
}

std::string bodyOf(const sip_t* sip) { return payloadOf(sip).body; }

// The o= line of an SDP body: the same line (same session version) is the
// same session description (RFC 3264 §8, RFC 4566 §5.2).
std::string originOf(const std::string& sdp) {
  for (size_t at = 0; at < sdp.size();) {
    size_t end = sdp.find('\n', at);
    if (end == std::string::npos) end = sdp.size();
    std::string line = sdp.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("o=", 0) == 0) return line;
    at = end + 1;
  }
  return {};
}

const char* refresherName(dialog::Refresher r) { return r == dialog::Refresher::uac ? "uac" : "uas"; }

}  // namespace

// ---- trampolines ----------------------------------------------------------------------

void LegCallbacks::sessionTimer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
  auto* leg = static_cast<CallLegs::Leg*>(arg);
  guarded(*leg->owner, "session timer", [&] {
    leg->owner->onSessionTimer(*leg);
    return 0;
  });
}

int LegCallbacks::refreshResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept {
  auto* leg = reinterpret_cast<CallLegs::Leg*>(m);
  return guarded(*leg->owner, "refresh response", [&] { return leg->owner->onRefreshResponse(*leg, orq, sip); });
}

// ---- the customer's INVITE (§9) ---------------------------------------------------------

bool CallLegs::refuseByTimer(nta_incoming_t* irq, const sip_t* sip, Leg& leg) {
  const dialog::UasDecision d = dialog::answerRequest(timerHeadersOf(sip), timerPolicy_);
  if (d.status == 422) {
    // §6: 422 names our minimum, and the UAC tries again with it (§7.1).
    const std::string minSE = std::to_string(d.minSE);
    nta_incoming_treply(irq, 422, "Session Interval Too Small", SIPTAG_MIN_SE_STR(minSE.c_str()),
                        SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
    metrics_.callsRefused("intervalTooSmall").Increment();
    return true;
  }
  if (d.status == 420) {
    nta_incoming_treply(irq, SIP_420_BAD_EXTENSION, SIPTAG_UNSUPPORTED_STR("timer"),
                        SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
    metrics_.callsRefused("badExtension").Increment();
    return true;
  }
  leg.session.timer = d.timer;
  leg.session.refresher = d.refresher;
  leg.session.requireTimer = d.requireTimer;
  leg.session.peerSdp = bodyOf(sip);
  leg.session.peerAllowsUpdate = sip_is_allowed(sip->sip_allow, sip_method_update, "UPDATE");
  return false;
}

std::string CallLegs::uasTimerLines(const Leg& leg) const {
  if (!timerPolicy_.enabled()) return {};
  const LegSessionTimer& s = leg.session;
  if (!s.timer.active()) return "Supported: timer";
  std::string lines = "Session-Expires: " + std::to_string(s.timer.interval) + ";refresher=" +
                      refresherName(s.refresher) + "\r\nSupported: timer";
  if (s.requireTimer) lines += "\r\nRequire: timer";
  return lines;
}

void CallLegs::answered(Leg& leg, const std::string& sdp) {
  leg.session.localSdp = sdp;
  restartSessionTimer(leg);
}

// ---- our INVITEs (§7.1, §7.2) -----------------------------------------------------------

std::string CallLegs::uacTimerLines(const dialog::UacOffer& o, std::optional<dialog::Refresher> refresher) const {
  if (o.sessionExpires == 0) return {};
  std::string se = std::to_string(o.sessionExpires);
  if (refresher) se += std::string(";refresher=") + refresherName(*refresher);
  return "Supported: timer\r\nSession-Expires: " + se + "\r\nMin-SE: " + std::to_string(o.minSE);
}

bool CallLegs::tooBrief(Fork& fork, const sip_t* sip, int status) {
  if (status != 422 || fork.retried422 || !sip || nta_sip_is_internal(sip) || !sip->sip_min_se) return false;
  const int minSE = sip->sip_min_se->min_delta > INT_MAX ? INT_MAX : static_cast<int>(sip->sip_min_se->min_delta);
  const auto again = dialog::retryAfter422(fork.timerOffer, minSE);
  if (!again) return false;
  fork.timerOffer = *again;
  fork.retried422 = true;  // once: a second 422 fails the fork like any refusal
  return sendInvite(fork, fork.auth.lines());
}

std::optional<SdpAudio> CallLegs::forkTimerUp(Leg& leg, Fork& fork, const sip_t* sip) {
  leg.session.offer = fork.timerOffer;
  leg.session.timer = dialog::onUac2xx(timerHeadersOf(sip), fork.timerOffer);
  leg.session.localSdp = fork.offer;
  leg.session.peerSdp = bodyOf(sip);
  std::optional<SdpAudio> audio = learn(leg, leg.session.peerSdp);
  leg.session.peerAllowsUpdate = sip_is_allowed(sip->sip_allow, sip_method_update, "UPDATE");
  restartSessionTimer(leg);
  return audio;
}

// ---- the timer ---------------------------------------------------------------------------

void CallLegs::armSessionTimer(Leg& leg, int64_t ms) {
  if (!leg.session.clock) leg.session.clock.reset(su_timer_create(su_root_task(root_), 1000));
  if (!leg.session.clock) return;
  su_timer_set_interval(leg.session.clock.get(), &LegCallbacks::sessionTimer, &leg, ms < 1 ? 1 : ms);
}

void CallLegs::restartSessionTimer(Leg& leg) {
  if (!leg.session.timer.active()) {
    if (leg.session.clock) su_timer_reset(leg.session.clock.get());
    return;
  }
  armSessionTimer(leg, leg.session.timer.nextInMs());
}

void CallLegs::onSessionTimer(Leg& leg) {
  if (find(leg.id) != &leg || !leg.dialog) return;
  if (!leg.session.timer.weRefresh) {
    // §10: the peer was to refresh and has not: the session is over.
    SB_INFO("calls", "leg %llu: no session refresh within %d s, ending it", static_cast<unsigned long long>(leg.id),
            leg.session.timer.interval);
    metrics_.sessionRefreshes("expired").Increment();
    endLeg(leg, 408, true);
    return;
  }
  // Not while our 2xx waits for its ACK or another re-INVITE is in progress on
  // the leg (RFC 3261 §14.1): try again shortly.
  const bool inviteBusy = relayedInvite(leg.id, true);
  if (leg.session.refresh || leg.state != Leg::State::confirmed || (inviteBusy && !leg.session.peerAllowsUpdate)) {
    armSessionTimer(leg, 1000);
    return;
  }
  // Nothing to refresh with (no UPDATE, no SDP of ours yet): look again at the next due time.
  if (!sendRefresh(leg)) armSessionTimer(leg, leg.session.timer.refreshInMs());
}

bool CallLegs::sendRefresh(Leg& leg, bool challenged) {
  LegSessionTimer& s = leg.session;
  // A new refresh starts with no credentials; one sent again after a 401/407
  // carries the answers (CSeq one higher: nta numbers in-dialog requests).
  if (!challenged) s.auth = authFor(leg.trunk);
  // We refresh, so the request names us, its UAC, the refresher (§7.4).
  const std::string lines =
      uacTimerLines({s.timer.interval, timerPolicy_.minSE < s.timer.interval ? timerPolicy_.minSE : s.timer.interval},
                    dialog::Refresher::uac);
  const bool invite = !s.peerAllowsUpdate;
  if (invite && s.localSdp.empty()) return false;  // nothing to repeat: no refresh we could send
  s.refreshIsInvite = invite;
  s.refresh = nta_outgoing_tcreate(
      leg.dialog, &LegCallbacks::refreshResponse, reinterpret_cast<nta_outgoing_magic_t*>(&leg),
      leg.routeUrl.empty() ? nullptr : URL_STRING_MAKE(leg.routeUrl.c_str()),
      invite ? sip_method_invite : sip_method_update, invite ? "INVITE" : "UPDATE", nullptr, SIPTAG_CONTACT(nta_agent_contact(agent_)),
      SIPTAG_HEADER_STR(lines.c_str()), TAG_IF(challenged, SIPTAG_HEADER_STR(s.auth.lines().c_str())),
      SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_IF(invite, SIPTAG_CONTENT_TYPE_STR(leg.contentType.c_str())),
      TAG_IF(invite, SIPTAG_PAYLOAD_STR(s.localSdp.c_str())), TAG_END());
  return s.refresh != nullptr;
}

int CallLegs::onRefreshResponse(Leg& leg, nta_outgoing_t* orq, const sip_t* sip) {
  LegSessionTimer& s = leg.session;
  if (orq != s.refresh) return 0;
  const int status = nta_outgoing_status(orq);
  if (status < 200) return 0;
  orqGraveyard_.push_back(std::exchange(s.refresh, nullptr));
  if (find(leg.id) != &leg) return 0;
  if (leg.byeWhenIdle) {
    // Hung up meanwhile: the 2xx is ACKed (RFC 3261 §13.2.2.4), then the BYE goes.
    if (status < 300 && s.refreshIsInvite && sip && leg.dialog)
      sendAck(leg.dialog, leg.routeUrl, cseqOf(sip), s.auth.lines());
    byeIfIdle(leg);
    return 0;
  }
  if (status < 300) {
    if (s.refreshIsInvite && sip && leg.dialog)  // the ACK repeats the INVITE's credentials (RFC 3261 §13.2.2.4)
      sendAck(leg.dialog, leg.routeUrl, cseqOf(sip), s.auth.lines());
    // §7.2 again: the 2xx may change the interval or the refresher.
    s.timer = dialog::onUac2xx(timerHeadersOf(sip), {s.timer.interval, timerPolicy_.minSE});
    metrics_.sessionRefreshes("sent").Increment();
    restartSessionTimer(leg);
    return 0;
  }
  // A trunk's challenge (RFC 3261 §22.2): the refresh again with its
  // credentials, once per realm (TrunkAuth's rule); refused again, it fails
  // below like any refusal and is retried later, the session left as it was.
  if (isChallenge(status, sip)) {
    if (s.auth.answer(sip, s.refreshIsInvite ? "INVITE" : "UPDATE", requestUriOf(orq)) && sendRefresh(leg, true))
      return 0;
    SB_WARN("calls", "leg %llu: the trunk refused our credentials for a session refresh (%d)",
            static_cast<unsigned long long>(leg.id), status);
  }
  // RFC 4028 §10 with RFC 3261 §12.2.1.2: a refresh answered 408 or 481, or
  // not at all, means the peer is gone.
  if (const DialogGone gone = dialogGone(status, sip); gone.code) {
    SB_INFO("calls", "leg %llu: session refresh failed (%d), ending it", static_cast<unsigned long long>(leg.id),
            status);
    metrics_.sessionRefreshes("failed").Increment();
    endLeg(leg, gone.code, gone.bye);
    return 0;
  }
  if (status == 422 && sip && sip->sip_min_se && static_cast<int>(sip->sip_min_se->min_delta) > s.timer.interval) {
    // §7.1 on a refresh: the peer wants a longer interval; take it and refresh again.
    s.timer.interval = static_cast<int>(sip->sip_min_se->min_delta);
    if (sendRefresh(leg)) return 0;
  }
  // Any other refusal (491, 500, ...) leaves the session as it was: try again
  // at a quarter of the interval, well before the peer's own expiry.
  armSessionTimer(leg, s.timer.refreshInMs() / 2);
  return 0;
}

void CallLegs::endLeg(Leg& leg, int code, bool bye) {
  if (bye) sendBye(leg);
  if (!leg.byeAfterAck) report(core::LegEnded{leg.id, code});
  retire(leg.id);
}

// ---- refreshes the peer sends ----------------------------------------------------------

std::optional<int> CallLegs::peerRefresh(Leg& leg, nta_incoming_t* irq, const sip_t* sip) {
  const sip_method_t m = sip->sip_request->rq_method;
  if (m != sip_method_invite && m != sip_method_update) return std::nullopt;
  // A re-INVITE before our 2xx is ACKed: relay() answers it (491).
  if (m == sip_method_invite && leg.state != Leg::State::confirmed) return std::nullopt;
  if (m == sip_method_invite && leg.session.refresh && leg.session.refreshIsInvite) return 491;  // glare, RFC 3261 §14.2
  const bool bodiless = !hasBody(sip);
  // A pure refresh: an UPDATE without a body, or a re-INVITE offering the
  // peer's last SDP unchanged (same o= line, RFC 3264 §8), answered with ours.
  const bool refreshOnly =
      (m == sip_method_update && bodiless) ||
      (m == sip_method_invite && isSdp(sip) && !leg.session.localSdp.empty() && !leg.session.peerSdp.empty() &&
       !originOf(bodyOf(sip)).empty() && originOf(bodyOf(sip)) == originOf(leg.session.peerSdp));
  const dialog::UasDecision d = dialog::answerRequest(timerHeadersOf(sip), timerPolicy_);
  if (d.status != 200) {
    const std::string minSE = std::to_string(d.minSE);
    nta_incoming_treply(irq, d.status, d.status == 422 ? "Session Interval Too Small" : nullptr,
                        TAG_IF(d.status == 422, SIPTAG_MIN_SE_STR(minSE.c_str())),
                        TAG_IF(d.status == 420, SIPTAG_UNSUPPORTED_STR("timer")), SIPTAG_SERVER_STR(server_.c_str()),
                        TAG_END());
    nta_incoming_destroy(irq);
    return 0;
  }
  // A desk phone's own hold with anchored media is answered here too (call_legs_hold.cpp);
  // any other change is relayed, and relayTimerAnswer() adds our side.
  if (!refreshOnly) return holdHere(leg, irq, sip, d);
  applyTimerAnswer(leg, d);
  const std::string lines = uasTimerLines(leg);
  const bool invite = m == sip_method_invite;
  nta_incoming_treply(irq, SIP_200_OK, TAG_IF(invite, SIPTAG_CONTACT(nta_agent_contact(agent_))),
                      TAG_IF(!lines.empty(), SIPTAG_HEADER_STR(lines.c_str())),
                      TAG_IF(invite, SIPTAG_CONTENT_TYPE_STR(leg.contentType.c_str())),
                      TAG_IF(invite, SIPTAG_PAYLOAD_STR(leg.session.localSdp.c_str())),
                      SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
  nta_incoming_destroy(irq);
  metrics_.sessionRefreshes("received").Increment();
  return 0;
}

void CallLegs::applyTimerAnswer(Leg& leg, const dialog::UasDecision& d) {
  leg.session.timer = d.timer;
  leg.session.refresher = d.refresher;
  leg.session.requireTimer = d.requireTimer;
  restartSessionTimer(leg);
}

// ---- relayed re-INVITE / UPDATE -------------------------------------------------------------

std::optional<dialog::UasDecision> CallLegs::relayTimerAnswer(const sip_t* request) const {
  const sip_method_t m = request->sip_request->rq_method;
  if (m != sip_method_invite && m != sip_method_update) return std::nullopt;
  return dialog::answerRequest(timerHeadersOf(request), timerPolicy_);
}

std::string CallLegs::relayTimerLines(const Leg& to, sip_method_t m) const {
  if ((m != sip_method_invite && m != sip_method_update) || !to.session.timer.active()) return {};
  // A request we send on `to` refreshes its session too (§7.4): the interval
  // stands, and so does who refreshes (uac: us, the sender of this one).
  const dialog::UacOffer o{to.session.timer.interval,
                           timerPolicy_.minSE < to.session.timer.interval ? timerPolicy_.minSE : to.session.timer.interval};
  return uacTimerLines(o, to.session.timer.weRefresh ? dialog::Refresher::uac : dialog::Refresher::uas);
}

void CallLegs::relayedRefresh(Relay& r, Leg* from, Leg* to, const sip_t* response, const std::string& fromSdp) {
  if (to && response && (r.method == sip_method_invite || r.method == sip_method_update)) {
    const std::string body = isSdp(response) ? bodyOf(response) : std::string();
    if (!body.empty()) {
      to->session.peerSdp = body;
      const std::optional<SdpAudio> audio = learn(*to, body);
      if (!r.offerless) renegotiated(*to, audio);  // an answer; an offerless one's comes in the ACK
    }
    if (to->session.timer.active())
      to->session.timer = dialog::onUac2xx(timerHeadersOf(response), {to->session.timer.interval, timerPolicy_.minSE});
    restartSessionTimer(*to);
    if (from && !body.empty()) from->session.localSdp = fromSdp;
  }
  if (from && r.timerAnswer) applyTimerAnswer(*from, *r.timerAnswer);
}

// The 2xx to a re-INVITE of our own on `leg` (hold): the peer's answer, and the
// session refreshed as by any re-INVITE (RFC 4028 §7.4; §7.2 for what the 2xx says).
void CallLegs::ownReinviteAnswered(Leg& leg, const sip_t* response) {
  if (!response) return;
  if (isSdp(response)) {
    leg.session.peerSdp = bodyOf(response);
    renegotiated(leg, learn(leg, leg.session.peerSdp));  // a re-offer's answer may name another codec
  }
  if (leg.session.timer.active())
    leg.session.timer = dialog::onUac2xx(timerHeadersOf(response), {leg.session.timer.interval, timerPolicy_.minSE});
  restartSessionTimer(leg);
}

void CallLegs::relayedOffer(Leg& from, Leg& to, const Relay& r) {
  if (r.offer.empty()) return;
  from.session.peerSdp = r.offer;
  learn(from, r.offer);
  to.session.localSdp = r.sent;
  notePeerHold(from, r.offer);
}

}  // namespace sb::sip

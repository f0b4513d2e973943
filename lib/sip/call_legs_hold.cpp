// Hold (core::HoldLeg): a re-INVITE of our own on an answered leg, the SDP it
// last got from us with every stream's receive direction taken away or given
// back (RFC 3264 §8.4) and its session version one higher (§8); and the far
// ends' own holds, seen in the SDP of the re-INVITEs and UPDATEs they send
// (LegHeld). The re-INVITE keeps the leg's session timer as a relayed one does
// (RFC 4028 §7.4). One at a time per leg (RFC 3261 §14.1): while another
// INVITE transaction is in progress on it, or after a 491, it waits.
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include "common/log.hpp"
#include "sip/call_legs_parts.hpp"
#include "sip/call_parse.hpp"
#include "sip/sdp_edit.hpp"

namespace sb::sip {
namespace {

// RFC 3261 §14.1: after a 491 the owner of the Call-ID waits 2.1-4 s, the other
// side 0-2 s; we wait a fixed time inside the first range, which is never
// shorter than the peer's wait, whichever side it is.
constexpr int64_t kGlareRetryMs = 2500;
constexpr int64_t kBusyRetryMs = 500;

}  // namespace

int LegCallbacks::holdResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept {
  auto* leg = reinterpret_cast<CallLegs::Leg*>(m);
  return guarded(*leg->owner, "hold response", [&] { return leg->owner->onHoldResponse(*leg, orq, sip); });
}

void LegCallbacks::holdRetry(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
  auto* leg = static_cast<CallLegs::Leg*>(arg);
  guarded(*leg->owner, "hold retry", [&] {
    if (leg->owner->find(leg->id) == leg) leg->owner->tryHold(*leg);
    return 0;
  });
}

void CallLegs::holdLeg(const core::HoldLeg& a) {
  Leg* leg = find(a.leg);
  if (!leg) return;
  leg->hold.wanted = a.hold;
  tryHold(*leg);
}

void CallLegs::armHoldRetry(Leg& leg, int64_t ms) {
  if (!leg.hold.retry) leg.hold.retry.reset(su_timer_create(su_root_task(root_), 0));
  if (leg.hold.retry) su_timer_set_interval(leg.hold.retry.get(), &LegCallbacks::holdRetry, &leg, ms);
}

void CallLegs::reofferLeg(const core::ReofferLeg& a) {
  Leg* leg = find(a.leg);
  const Leg* with = find(a.with);
  if (!leg || !with) return;
  const std::string& theirs = with->session.peerSdp.empty() ? with->sdp : with->session.peerSdp;
  // Anchored, an offer lists both G.711 laws as ring()'s did (the engine transcodes).
  const std::string offer = media_ ? sdpWithBothLaws(theirs).value_or(theirs) : theirs;
  std::optional<std::string> body = sdpUnderOrigin(offer, leg->session.localSdp, !with->hold.peerHeld);
  if (body) body = present(*leg, *body);
  if (!body) {
    SB_WARN("calls", "leg %llu: the other party's SDP cannot be offered", static_cast<unsigned long long>(leg->id));
    return;
  }
  leg->hold.reoffer = *body;
  leg->hold.reofferThen = a.then;
  tryHold(*leg);
}

void CallLegs::tryHold(Leg& leg) {
  LegHold& h = leg.hold;
  if (leg.byeWhenIdle) return;
  if (h.orq || (!h.wanted && !h.reoffer)) return;  // the answer in flight looks again, or nothing asked
  if (!h.reoffer && *h.wanted == h.held) {
    h.wanted.reset();
    return;
  }
  const bool inviteBusy = relayedInvite(leg.id, true) || (leg.session.refresh && leg.session.refreshIsInvite);
  if (leg.state != Leg::State::confirmed || !leg.dialog || inviteBusy || leg.ackFork || leg.ackRelay) {
    armHoldRetry(leg, kBusyRetryMs);
    return;
  }
  const bool reoffering = h.reoffer.has_value();
  const std::optional<std::string> body =
      reoffering ? std::exchange(h.reoffer, std::nullopt) : sdpReissued(leg.session.localSdp, *h.wanted, 1);
  if (!body) {
    SB_WARN("calls", "leg %llu: no SDP of ours (or none Sofia can read) to %s with", static_cast<unsigned long long>(leg.id),
            *h.wanted ? "hold" : "resume");
    h.wanted.reset();
    return;
  }
  h.answerTo = reoffering ? std::exchange(h.reofferThen, 0) : 0;
  h.sendingReoffer = reoffering;
  h.body = *body;
  h.sending = h.wanted.value_or(h.held);
  h.wanted.reset();
  h.auth = authFor(leg.trunk);
  if (!sendHold(leg, {})) SB_WARN("calls", "leg %llu: cannot send the hold re-INVITE", static_cast<unsigned long long>(leg.id));
}

bool CallLegs::sendHold(Leg& leg, const std::string& authLines) {
  LegHold& h = leg.hold;
  const std::string timer = relayTimerLines(leg, sip_method_invite);
  h.orq = nta_outgoing_tcreate(
      leg.dialog, &LegCallbacks::holdResponse, reinterpret_cast<nta_outgoing_magic_t*>(&leg),
      leg.routeUrl.empty() ? nullptr : URL_STRING_MAKE(leg.routeUrl.c_str()), SIP_METHOD_INVITE, nullptr,
      SIPTAG_CONTACT(nta_agent_contact(agent_)), SIPTAG_ALLOW_STR(kAllow), SIPTAG_USER_AGENT_STR(server_.c_str()),
      TAG_IF(!timer.empty(), SIPTAG_HEADER_STR(timer.c_str())),
      TAG_IF(!authLines.empty(), SIPTAG_HEADER_STR(authLines.c_str())), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
      SIPTAG_PAYLOAD_STR(h.body.c_str()), TAG_END());
  return h.orq != nullptr;
}

int CallLegs::onHoldResponse(Leg& leg, nta_outgoing_t* orq, const sip_t* sip) {
  LegHold& h = leg.hold;
  if (orq != h.orq) return 0;
  const int status = nta_outgoing_status(orq);
  if (status < 200) return 0;
  orqGraveyard_.push_back(std::exchange(h.orq, nullptr));
  if (leg.byeWhenIdle) {
    // Hung up meanwhile: the 2xx is ACKed (RFC 3261 §13.2.2.4), then the BYE goes.
    if (status < 300 && sip && leg.dialog) sendAck(leg.dialog, leg.routeUrl, cseqOf(sip), h.auth.lines());
    byeIfIdle(leg);
    return 0;
  }
  if (status < 300) {
    if (sip && leg.dialog) sendAck(leg.dialog, leg.routeUrl, cseqOf(sip), h.auth.lines());
    if (sip) nta_leg_client_reroute(leg.dialog, nullptr, sip->sip_contact, 0);  // target refresh, §12.2.1.2
    h.held = h.sending;
    ++h.versionShift;  // every SDP relayed onto this leg from now on is one version further (RFC 3264 §8)
    leg.session.localSdp = h.body;
    ownReinviteAnswered(leg, sip);
    // The other party of a re-connection gets this leg's answer in turn.
    if (const core::LegId then = std::exchange(h.answerTo, 0)) reofferLeg({then, leg.id, 0});
    if (find(leg.id) == &leg) tryHold(leg);  // asked otherwise meanwhile
    return 0;
  }
  if (isChallenge(status, sip)) {
    if (auto lines = h.auth.answer(sip, "INVITE", requestUriOf(orq)); lines && sendHold(leg, *lines)) return 0;
    SB_WARN("calls", "leg %llu: the trunk refused our credentials for a hold re-INVITE (%d)",
            static_cast<unsigned long long>(leg.id), status);
  }
  if (const DialogGone gone = dialogGone(status, sip); gone.code) {
    endLeg(leg, gone.code, gone.bye);
    return 0;
  }
  if (status == 491) {
    // Glare with the peer's own re-INVITE (RFC 3261 §14.1): the same change again, later.
    if (h.sendingReoffer) {
      h.reoffer = h.body;  // never accepted, so the same version again (RFC 3264 §8)
      h.reofferThen = std::exchange(h.answerTo, 0);
    } else {
      h.wanted = h.sending;
    }
    armHoldRetry(leg, kGlareRetryMs);
    return 0;
  }
  // Refused (488, 500, ...): the session stays as it was on this leg (§14.1).
  SB_WARN("calls", "leg %llu: the far end refused the %s re-INVITE (%d)", static_cast<unsigned long long>(leg.id),
          h.sending ? "hold" : "resume", status);
  tryHold(leg);
  return 0;
}

// The SDP of a request relayed from `from` (a re-INVITE or UPDATE with an
// offer): whether its author now holds the call, reported when that changes.
void CallLegs::notePeerHold(Leg& from, const std::string& sdp) {
  const std::optional<bool> held = sdpHeld(sdp);
  if (!held || *held == from.hold.peerHeld) return;
  from.hold.peerHeld = *held;
  report(core::LegHeld{from.id, *held});
}

// Anchored media: a desk phone (or an agent's mobile) holding the call
// itself. Relayed, its sendonly would make the customer's PBX play its own
// music or go silent; instead its offer is answered here with our SDP for
// that leg, the direction mirrored (RFC 3264 §6.1, §8.4), the customer's leg
// left sendrecv, and LegHeld tells core, which plays the skill group's hold
// music to the customer (docs/CORE.md, "Hold"). Its resume is answered here
// too, as are offers while it holds; any other change is relayed as before.
// `d`: our RFC 4028 answer to the request, already found acceptable.
std::optional<int> CallLegs::holdHere(Leg& leg, nta_incoming_t* irq, const sip_t* sip, const dialog::UasDecision& d) {
  if (!leg.hold.answeredHere || !media_ || !isSdp(sip)) return std::nullopt;
  const sip_method_t m = sip->sip_request->rq_method;
  const std::string offer = payloadOf(sip).body;
  const std::optional<bool> held = sdpHeld(offer);
  if (!held || (!*held && !leg.hold.peerHeld)) return std::nullopt;
  if (m == sip_method_invite && leg.state != Leg::State::confirmed) return std::nullopt;  // relay() answers 491
  // RFC 3261 §14.1: an INVITE of ours on the leg still in progress (our hold,
  // a relayed re-INVITE, our refresh): glare, 491 (§14.2).
  if (leg.hold.orq || relayedInvite(leg.id, true) || leg.ackFork || leg.ackRelay ||
      (leg.session.refresh && leg.session.refreshIsInvite))
    return 491;
  std::optional<std::string> answer = sdpMirroredAnswer(offer, leg.session.localSdp);
  if (!answer) return std::nullopt;  // not the session we negotiated: relayed as it came
  *answer = present(leg, *answer);
  leg.session.localSdp = *answer;
  leg.session.peerSdp = offer;
  ++leg.hold.versionShift;  // our answer is one version further than what was relayed onto the leg (RFC 3264 §8)
  learn(leg, offer, *held);
  applyTimerAnswer(leg, d);
  const std::string lines = uasTimerLines(leg);
  nta_incoming_treply(irq, SIP_200_OK, TAG_IF(m == sip_method_invite, SIPTAG_CONTACT(nta_agent_contact(agent_))),
                      TAG_IF(!lines.empty(), SIPTAG_HEADER_STR(lines.c_str())),
                      SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(answer->c_str()),
                      SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
  nta_incoming_destroy(irq);
  if (*held != leg.hold.peerHeld) {
    leg.hold.peerHeld = *held;
    report(core::LegHeld{leg.id, *held});
  }
  return 0;
}

}  // namespace sb::sip

// The agent's leg: core's RingLeg becomes one INVITE per registered contact of
// a desk phone (forks of one leg) or one through a trunk. The first 2xx wins
// and is ACKed (RFC 3261 §13.2.2.4); the other forks are CANCELled and, should
// they answer anyway, ACKed and BYEd (§9.1); failures are ranked as a forking
// proxy would (§16.7 step 6). Max-Forwards is carried across (§16.6 step 3).
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_string.h>

#include <algorithm>

#include "common/ids.hpp"
#include "common/log.hpp"
#include "metrics/metrics.hpp"
#include "sip/call_legs_parts.hpp"
#include "sip/call_parse.hpp"
#include "sip/register_parse.hpp"
#include "sip/sdp_edit.hpp"

namespace sb::sip {

void CallLegs::ring(const core::RingLeg& a) {
  Leg* src = find(a.offerFrom);
  auto leg = std::make_unique<Leg>();
  leg->owner = this;
  leg->id = a.leg;
  leg->inbound = false;
  Leg& l = *leg;
  legs_[a.leg] = std::move(leg);
  l.thirdParty = a.thirdParty;
  l.callerNumber = a.callerNumber;
  if (a.thirdParty) {
    // RFC 3725: an INVITE without an offer; the device's 2xx brings one.
    l.offerless = true;
  } else if (!src) {
    report(core::LegFailed{a.leg, 487});  // the customer left meanwhile
    retire(a.leg);
    return;
  } else {
    l.maxForwards = src->maxForwards;
    l.contentType = src->contentType;
    l.offerless = src->sdp.empty();
    // Answered by us already (queue music): the phone may pick only the codec
    // we chose; with anchored media also the other G.711 law, transcoded.
    std::string offer = src->ownAnswer.empty() ? src->sdp : sdpNarrowed(src->sdp, src->ownAnswer).value_or(src->sdp);
    if (media_) offer = sdpWithBothLaws(offer).value_or(offer);
    l.sdp = present(l, offer);
  }
  if (l.maxForwards == 0) {
    // RFC 3261 §16.3 item 3 as a B2BUA applies it: a call looping through the
    // PBX and back dies out instead of ringing forever.
    report(core::LegFailed{a.leg, 483});
    retire(a.leg);
    return;
  }
  if (const auto* desk = std::get_if<core::DeskPhoneTarget>(&a.target)) {
    const std::string to = "<sip:" + desk->extensionId + "@" + domain_ + ">";
    for (const auto& c : contacts_(desk->extensionId))
      if (c.reachable) ringFork(l, c.uri, routeForSource(c.source), to);
  } else if (const auto* trunk = std::get_if<core::TrunkTarget>(&a.target)) {
    for (const auto& t : trunks_) {
      if (t.name != trunk->trunk) continue;
      const std::string host = t.address.ipv6 ? "[" + t.address.host + "]" : t.address.host;
      const std::string uri =
          "sip:" + trunk->number + "@" + host + ":" + std::to_string(t.address.port) + ";transport=" + t.transport;
      l.trunk = t.name;
      if (a.assertedIdentity) {
        // RFC 3325 §9.1: the identity the trunk may trust from us; with
        // privacy (RFC 3323 §4.1.1.3, RFC 3325 §9.3) From is anonymous and
        // the trunk withholds the number from the customer.
        l.identity = "P-Asserted-Identity: <sip:" + a.callerNumber + "@" + domain_ + ">";
        if (a.privacy) l.identity += "\r\nPrivacy: id";
      }
      l.anonymousFrom = a.privacy;
      if (!a.uui.empty()) {
        // RFC 7433 §4.1: the user data, hex-encoded, for the far end.
        if (!l.identity.empty()) l.identity += "\r\n";
        l.identity += "User-to-User: " + hexOf(a.uui) + ";encoding=hex";
      }
      ringFork(l, uri, {}, "<" + uri + ">", t.name);
    }
  }
  if (l.forks.empty()) {
    report(core::LegFailed{a.leg, 480});  // no contact to ring (RFC 3261 §21.4.18)
    retire(a.leg);
  }
  l.sdp.clear();  // the offer went out; this leg's sdp is the answer from now on
}

void CallLegs::ringFork(Leg& leg, const std::string& requestUri, const std::string& routeUrl, const std::string& toUri,
                        const std::string& trunk) {
  auto f = std::make_unique<Fork>();
  f->owner = this;
  f->legId = leg.id;
  f->routeUrl = routeUrl;
  f->auth = authFor(trunk);
  f->requestUri = requestUri;
  f->maxForwards = std::to_string(leg.maxForwards);
  f->contentType = leg.contentType;
  f->offer = leg.sdp;
  f->timerOffer = dialog::offerFor(timerPolicy_);
  f->identity = leg.identity;
  const std::string from = leg.anonymousFrom ? std::string("\"Anonymous\" <sip:anonymous@anonymous.invalid>")
                                             : "<sip:" + (leg.callerNumber.empty() ? "anonymous" : leg.callerNumber) +
                                                   "@" + domain_ + ">";
  f->dialog = nta_leg_tcreate(agent_, &LegCallbacks::forkRequest, reinterpret_cast<nta_leg_magic_t*>(f.get()),
                              SIPTAG_FROM_STR(from.c_str()), SIPTAG_TO_STR(toUri.c_str()), TAG_END());
  if (!f->dialog || !nta_leg_tag(f->dialog, nullptr)) return;
  if (!sendInvite(*f, {})) {
    SB_WARN("calls", "cannot send INVITE to %s", requestUri.c_str());
    return;
  }
  // The offer stays with the fork: to send it again when challenged (401/407,
  // or 422 by RFC 4028 §7.1), and as the SDP this leg got from us
  // (LegSessionTimer::localSdp), which a refresh or a hold re-issues.
  leg.forks.push_back(std::move(f));
}

// The fork's INVITE, first or again: on the fork's dialog, so a re-sent one
// keeps the Call-ID and From tag, takes the next CSeq and a new branch (RFC
// 3261 §22.2), and carries the same offer.
bool CallLegs::sendInvite(Fork& f, const std::string& authLines) {
  if (f.orq) orqGraveyard_.push_back(std::exchange(f.orq, nullptr));
  f.status = 0;
  const Leg* leg = find(f.legId);
  const std::string lines =
      withReplaces(uacTimerLines(f.timerOffer, std::nullopt), leg && leg->trunk.empty());  // RFC 4028 §7.1, RFC 3891 §6.1
  f.orq = nta_outgoing_tcreate(
      f.dialog, &LegCallbacks::forkResponse, reinterpret_cast<nta_outgoing_magic_t*>(&f),
      f.routeUrl.empty() ? nullptr : URL_STRING_MAKE(f.routeUrl.c_str()), SIP_METHOD_INVITE,
      URL_STRING_MAKE(f.requestUri.c_str()), SIPTAG_CONTACT(nta_agent_contact(agent_)),
      SIPTAG_MAX_FORWARDS_STR(f.maxForwards.c_str()), SIPTAG_USER_AGENT_STR(server_.c_str()), SIPTAG_ALLOW_STR(kAllow),
      TAG_IF(!authLines.empty(), SIPTAG_HEADER_STR(authLines.c_str())),
      TAG_IF(!lines.empty(), SIPTAG_HEADER_STR(lines.c_str())),
      TAG_IF(!f.identity.empty(), SIPTAG_HEADER_STR(f.identity.c_str())),
      TAG_IF(!f.offer.empty(), SIPTAG_CONTENT_TYPE_STR(f.contentType.c_str())),
      TAG_IF(!f.offer.empty(), SIPTAG_PAYLOAD_STR(f.offer.c_str())), TAG_END());
  return f.orq != nullptr;
}

// A 401/407 to a fork through a trunk with credentials: answered once per
// realm (trunk_auth.hpp). True when the INVITE went again; false leaves the
// status to fail the fork (wrong credentials: core moves on to the next agent).
bool CallLegs::challenged(Fork& fork, nta_outgoing_t* orq, const sip_t* sip, int status) {
  if (!isChallenge(status, sip) || !fork.auth.hasCredentials()) return false;
  auto lines = fork.auth.answer(sip, "INVITE", requestUriOf(orq));
  if (!lines) {
    SB_WARN("calls", "the trunk refused our credentials for INVITE %s (%d)", fork.requestUri.c_str(), status);
    return false;
  }
  if (!sendInvite(fork, *lines)) return false;
  return true;
}

int CallLegs::onForkResponse(Fork& fork, nta_outgoing_t* orq, const sip_t* sip) {
  if (orq != fork.orq) return 0;  // an INVITE we already sent again
  const int status = nta_outgoing_status(orq);
  fork.status = status;
  Leg* leg = fork.legId ? find(fork.legId) : nullptr;
  if (!leg) {
    // An orphan: its final answer ends it; a 2xx gets ACK and BYE.
    if (status >= 200 && status < 300 && sip) ackAndBye(fork, sip);
    if (status >= 200) {
      auto it = orphans_.find(&fork);
      if (it != orphans_.end()) {
        forkGraveyard_.push_back(std::move(it->second));
        orphans_.erase(it);
      }
    }
    return 0;
  }
  if (status < 200) {
    if (status > 100 && sip && sip->sip_rseq && sip_has_feature(sip->sip_require, "100rel")) prack(fork, orq, sip);
    bool talk = false;
    // A desk phone's 18x with a To tag opens an early dialog (RFC 3261 §12.1);
    // `talk` in its Allow-Events (RFC 6665 §8.2.2) says Call.accept can make it
    // answer. Trunks are never asked: the PBX behind them is not the handset.
    if (status > 100 && sip && leg->trunk.empty() && !fork.early && sip->sip_to && sip->sip_to->a_tag &&
        allowsEvent(sip, "talk")) {
      fork.early = nta_outgoing_getresponse(orq);
      talk = fork.early != nullptr;
    }
    // Early media (an 18x with SDP) from a trunk: kept for the other leg's 18x.
    const bool early = status > 100 && sip && !leg->trunk.empty() && !leg->earlyReported && hasBody(sip) && isSdp(sip);
    if (early) {
      leg->earlySdp = payloadOf(sip).body;
      learn(*leg, leg->earlySdp);
    }
    if (status > 100 && (!leg->ringingReported || (talk && !leg->remoteAnswerReported) || early)) {
      leg->ringingReported = true;
      leg->remoteAnswerReported = leg->remoteAnswerReported || talk;
      leg->earlyReported = leg->earlyReported || early;
      report(core::LegRinging{leg->id, status, talk, early});
    }
    return 0;
  }
  if (status < 300 && sip)
    forkAnswered(*leg, fork, sip);
  else if (!challenged(fork, orq, sip, status) && !tooBrief(fork, sip, status))
    forkFailed(*leg, fork, status);
  return 0;
}

void CallLegs::sendAck(nta_leg_t* dialog, const std::string& routeUrl, uint32_t cseq, const std::string& authLines,
                       const std::string& contentType, const std::string& body) {
  // RFC 3261 §13.2.2.4: the ACK for a 2xx is a request of the dialog, with the
  // INVITE's CSeq number and credentials, sent to the target the 2xx's Contact names.
  const std::string cseqLine = std::to_string(cseq) + " ACK";
  nta_outgoing_t* ack = nta_outgoing_tcreate(
      dialog, nullptr, nullptr, routeUrl.empty() ? nullptr : URL_STRING_MAKE(routeUrl.c_str()), SIP_METHOD_ACK, nullptr,
      SIPTAG_CSEQ_STR(cseqLine.c_str()), TAG_IF(!authLines.empty(), SIPTAG_HEADER_STR(authLines.c_str())),
      TAG_IF(!body.empty(), SIPTAG_CONTENT_TYPE_STR(contentType.empty() ? "application/sdp" : contentType.c_str())),
      TAG_IF(!body.empty(), SIPTAG_PAYLOAD_STR(body.c_str())), TAG_END());
  if (ack) nta_outgoing_destroy(ack);  // nta keeps it to re-ACK retransmitted 2xx
}

void CallLegs::sendPendingAck(Leg& leg, const std::string& contentType, const std::string& answer) {
  // The answer to the offer the leg put in its 2xx: the fork's (leg.sdp), or
  // an offerless relayed re-INVITE's (Relay::offer).
  if (!leg.ackFork && !leg.ackRelay) return;
  const std::string& offer = leg.ackFork ? leg.sdp : leg.ackRelay->offer;
  const std::string body = answer.empty() ? answer : relayedSdp(leg, answer, offer);
  if (!body.empty()) leg.session.localSdp = body;
  if (leg.ackFork) {
    if (leg.dialog) sendAck(leg.dialog, leg.routeUrl, leg.ackCseq, leg.ackFork->auth.lines(), contentType, body);
    forkGraveyard_.push_back(std::move(leg.ackFork));
  } else if (leg.ackRelay) {
    if (leg.dialog) sendAck(leg.dialog, leg.routeUrl, leg.ackCseq, leg.ackRelay->auth.lines(), contentType, body);
    relayGraveyard_.push_back(std::move(leg.ackRelay));
  }
}

// RFC 3262 §4: a reliable provisional is PRACKed in the early dialog it opens.
// Our INVITEs do not offer 100rel (§3: without it a UAS must not send one), but
// a phone that sends one anyway would retransmit it for 64*T1 and then give up
// on the call with a 5xx; it is PRACKed instead. Only the first early dialog
// of the fork is ours: a reliable 18x with another To tag (forked beyond the
// contact) goes unPRACKed, and that branch fails on its own.
void CallLegs::prack(Fork& fork, nta_outgoing_t* orq, const sip_t* sip) {
  if (!fork.dialog || !sip->sip_to || !sip->sip_to->a_tag || !sip->sip_cseq) return;
  const char* tag = nta_leg_get_rtag(fork.dialog);
  if (tag && !su_casematch(tag, sip->sip_to->a_tag)) return;
  if (!tag) adoptDialog(fork.dialog, sip);
  // nta drops a reliable provisional whose RSeq is not above this (§4: a
  // retransmission, already PRACKed), so each is PRACKed once; nta
  // retransmits the PRACK itself until it is answered (RFC 3261 §17.1.2).
  if (nta_outgoing_setrseq(orq, sip->sip_rseq->rs_response) < 0) return;
  const std::string rack = std::to_string(sip->sip_rseq->rs_response) + " " + std::to_string(sip->sip_cseq->cs_seq) + " " +
                           (sip->sip_cseq->cs_method_name ? sip->sip_cseq->cs_method_name : "INVITE");
  nta_outgoing_t* p = nta_outgoing_tcreate(
      fork.dialog, nullptr, nullptr, fork.routeUrl.empty() ? nullptr : URL_STRING_MAKE(fork.routeUrl.c_str()),
      SIP_METHOD_PRACK, nullptr, SIPTAG_RACK_STR(rack.c_str()), SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_END());
  if (p) nta_outgoing_destroy(p);  // nta completes it; its answer changes nothing here
}

void CallLegs::adoptDialog(nta_leg_t* dialog, const sip_t* sip) {
  if (sip->sip_to && sip->sip_to->a_tag) nta_leg_rtag(dialog, sip->sip_to->a_tag);
  // RFC 3261 §12.1.2: route set from Record-Route (reversed by nta), target from Contact.
  nta_leg_client_reroute(dialog, sip->sip_record_route, sip->sip_contact, 1);
}

void CallLegs::ackAndBye(Fork& fork, const sip_t* sip) {
  if (!fork.dialog) return;
  adoptDialog(fork.dialog, sip);
  sendAck(fork.dialog, fork.routeUrl, cseqOf(sip), fork.auth.lines());
  nta_outgoing_t* bye = nta_outgoing_tcreate(
      fork.dialog, nullptr, nullptr, fork.routeUrl.empty() ? nullptr : URL_STRING_MAKE(fork.routeUrl.c_str()),
      SIP_METHOD_BYE, nullptr, SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_END());
  if (bye) nta_outgoing_destroy(bye);
}

// The first 2xx of a fork's INVITE. A later 2xx to the same INVITE with another
// To tag (forked downstream, RFC 3261 §13.2.2.4) never comes here: nta in UA
// mode ACKs and BYEs it itself, statelessly, until Timer D (docs/ARCHITECTURE.md,
// "Forked 2xx"); test_trunk_calls.py shows it.
void CallLegs::forkAnswered(Leg& leg, Fork& fork, const sip_t* sip) {
  if (leg.state != Leg::State::early) {
    ackAndBye(fork, sip);  // a second fork answered too late: one dialog only
    return;
  }
  adoptDialog(fork.dialog, sip);
  // An offer in the 2xx (the INVITE had none): the ACK waits for the answer,
  // but for third-party call control, where the other party is not even
  // called yet: answered at once with every stream parked (RFC 3725 §4.2's
  // black hole), until ReofferLeg brings the customer's SDP.
  Payload offer = payloadOf(sip);
  std::string parked;
  if (leg.thirdParty && hasBody(sip) && isSdp(sip))
    parked = sdpParkedAnswer(offer.body, "seatbridge", leg.id, nta_agent_contact(agent_) &&
                                                                   nta_agent_contact(agent_)->m_url->url_host
                                                               ? nta_agent_contact(agent_)->m_url->url_host
                                                               : "0.0.0.0")
                 .value_or(std::string());
  const bool offerInAnswer = leg.offerless && hasBody(sip) && parked.empty();
  if (!parked.empty())
    sendAck(fork.dialog, fork.routeUrl, cseqOf(sip), fork.auth.lines(), "application/sdp", parked);
  else if (!offerInAnswer)
    sendAck(fork.dialog, fork.routeUrl, cseqOf(sip), fork.auth.lines());
  // The winning fork's dialog becomes the leg's.
  leg.dialog = std::exchange(fork.dialog, nullptr);
  nta_leg_bind(leg.dialog, &LegCallbacks::dialogRequest, reinterpret_cast<nta_leg_magic_t*>(&leg));
  leg.routeUrl = fork.routeUrl;
  leg.state = Leg::State::confirmed;
  leg.sdp = std::move(offer.body);
  if (!offer.type.empty()) leg.contentType = std::move(offer.type);
  const std::optional<SdpAudio> audio = forkTimerUp(leg, fork, sip);  // RFC 4028 §7.2
  if (!parked.empty()) leg.session.localSdp = parked;  // what a refresh or the re-offer builds on
  // First 2xx wins: every other fork is CANCELled (and BYEd if it answers anyway).
  for (auto& f : leg.forks) {
    if (f.get() == &fork && offerInAnswer) {
      leg.ackCseq = cseqOf(sip);
      leg.ackFork = std::move(f);
    } else if (f.get() == &fork) {
      forkGraveyard_.push_back(std::move(f));
    } else {
      orphan(std::move(f));
    }
  }
  leg.forks.clear();
  // Anchored media: whether the codec it answered with (an answer's first
  // format, RFC 3264 §6.1) is one the engine decodes: G.711. Offerless, the
  // answer is still to come from the other side (its ACK, core::LegCodec):
  // taken as decodable until then.
  report(core::LegAnswered{leg.id, offerInAnswer || !audio || audio->decodable()});
}

// Call.accept on a ringing desk phone: NOTIFY `Event: talk` in each early
// dialog that offered it (the BroadSoft talk package: an implied subscription,
// no body). The NOTIFY is a request of the early dialog, so it carries the
// phone's To tag and goes to the 18x's Contact (RFC 3261 §12.1.2, §12.2.1.1);
// it takes the dialog's next CSeq, which keeps a later BYE in order. The phone
// then answers the INVITE as if its handset were lifted.
void CallLegs::answerRemotely(const core::AnswerRemotely& a) {
  Leg* l = find(a.leg);
  if (!l || l->inbound || l->state != Leg::State::early) return;
  for (auto& f : l->forks) {
    if (!f->early || f->talk || !f->dialog) continue;
    const sip_t* early = sip_object(f->early);
    if (!early) continue;
    adoptDialog(f->dialog, early);
    f->talk = nta_outgoing_tcreate(f->dialog, &LegCallbacks::talkResponse, reinterpret_cast<nta_outgoing_magic_t*>(f.get()),
                                   f->routeUrl.empty() ? nullptr : URL_STRING_MAKE(f->routeUrl.c_str()),
                                   SIP_METHOD_NOTIFY, nullptr, SIPTAG_EVENT_STR("talk"),
                                   SIPTAG_SUBSCRIPTION_STATE_STR("active"), SIPTAG_CONTACT(nta_agent_contact(agent_)),
                                   SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_END());
    if (!f->talk) SB_WARN("calls", "cannot send NOTIFY talk to %s", f->requestUri.c_str());
  }
}

int CallLegs::onTalkResponse(Fork& fork, nta_outgoing_t* orq, const sip_t*) {
  const int status = nta_outgoing_status(orq);
  if (status < 200) return 0;
  if (status < 300) {
    metrics_.remoteAnswers("accepted").Increment();
  } else {
    // The call rings on; the agent lifts the handset or the ring timeout
    // moves the call on. Phones that refuse want "remote answer" (or the
    // BroadSoft talk event) enabled in their settings (docs/OPERATIONS.md).
    metrics_.remoteAnswers("refused").Increment();
    SB_WARN("calls", "the phone at %s refused NOTIFY talk (%d): Call.accept cannot answer it", fork.requestUri.c_str(),
            status);
  }
  return 0;
}

// RFC 3261 §16.7 step 6, as a forking UAC picks the answer to report: a 6xx
// wins, then a refusal (486), then any other.
void CallLegs::forkFailed(Leg& leg, Fork& fork, int status) {
  const auto rank = [](int s) { return s >= 600 ? 3 : s == 486 ? 2 : s > 0 ? 1 : 0; };
  if (rank(status) > rank(leg.bestFailure)) leg.bestFailure = status;
  auto it = std::find_if(leg.forks.begin(), leg.forks.end(), [&](const auto& f) { return f.get() == &fork; });
  if (it != leg.forks.end()) {
    forkGraveyard_.push_back(std::move(*it));
    leg.forks.erase(it);
  }
  if (leg.forks.empty() && leg.state == Leg::State::early) {
    report(core::LegFailed{leg.id, leg.bestFailure});
    retire(leg.id);
  }
}
}  // namespace sb::sip

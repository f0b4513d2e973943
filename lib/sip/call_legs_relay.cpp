// In-dialog requests on a bridged call: ACK and BYE end at the leg they arrive
// on (RFC 3261 §15.1.2); re-INVITE, UPDATE, INFO, NOTIFY, OPTIONS and MESSAGE
// are relayed into the other leg's dialog and its answer relayed back, with 491
// on glare (§14.2) and a leg that stops answering ended (§12.2.1.2).
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include "sip/call_legs_parts.hpp"
#include "sip/call_parse.hpp"
#include "sip/sdp_edit.hpp"

namespace sb::sip {

// ---- in-dialog requests ---------------------------------------------------------------

int CallLegs::onDialogRequest(Leg& leg, nta_incoming_t* irq, const sip_t* sip) {
  const sip_method_t m = sip->sip_request->rq_method;
  switch (m) {
    case sip_method_ack:
      // The ACK of a 2xx we sent, or of a relayed re-INVITE's 2xx: that one we
      // ACKed on the other side ourselves, unless the re-INVITE had no offer
      // and this ACK carries the answer the other side waits for.
      if (leg.inbound && leg.state == Leg::State::answered) {
        if (leg.irq) {
          nta_incoming_destroy(leg.irq);
          leg.irq = nullptr;
        }
        acked(leg, sip);
      } else if (Leg* other = leg.peer ? find(leg.peer) : nullptr; other && other->ackRelay) {
        const Payload p = payloadOf(sip);
        renegotiated(leg, learn(leg, p.body));
        sendPendingAck(*other, p.type, p.body);
      }
      nta_incoming_destroy(irq);
      return 0;
    case sip_method_bye:
      // RFC 3261 §15.1.2: answer 200 and end the session; the peer is hung up by core.
      if (!leg.byeAfterAck) report(core::LegEnded{leg.id, 0});
      retire(leg.id);
      return 200;
    case sip_method_info:
      if (sip->sip_payload && sip->sip_content_type && sip->sip_content_type->c_type) {
        const std::string_view body(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
        if (auto key = parseDtmfInfo(sip->sip_content_type->c_type, body)) {
          report(core::LegDigit{leg.id, *key});
          // A mobile confirming its offer is not bridged yet: its key is ours,
          // and a 481 would end its dialog (RFC 3261 §12.2.1.2).
          if (!leg.peer) return 200;
        }
      }
      return relay(leg, irq, sip);
    case sip_method_prack:
      // RFC 3262 §3: nta answers the PRACKs of our reliable provisionals; one
      // that matches none of them comes here.
      return 481;
    case sip_method_invite:
      // The customer's INVITE again, after nta let its transaction go early:
      // no re-INVITE (RFC 3261 §17.2.3), our 2xx again (call_legs_inbound.cpp).
      if (auto again = inviteRetransmitted(leg, irq, sip)) return *again;
      [[fallthrough]];
    case sip_method_update:
      // RFC 4028: a pure session refresh is answered on this leg.
      if (auto answered = peerRefresh(leg, irq, sip)) return *answered;
      return relay(leg, irq, sip);
    case sip_method_refer:
      // A desk phone's transfer key: a transfer of the session (call_legs_refer.cpp), never relayed.
      return onRefer(leg, irq, sip);
    case sip_method_notify:
    case sip_method_options:
    case sip_method_message:
      return relay(leg, irq, sip);
    default:
      return 501;
  }
}

int CallLegs::relay(Leg& from, nta_incoming_t* irq, const sip_t* sip) {
  Leg* to = from.peer ? find(from.peer) : nullptr;
  const sip_method_t m = sip->sip_request->rq_method;
  // The customer's dialog is up for the PBX as soon as it has our 2xx (RFC 3261
  // §13.2.2.4), so a request may well reach us before its ACK: anything but a
  // re-INVITE is relayed then (a 481 would end the sender's dialog, §12.2.1.2).
  // A re-INVITE waits: our INVITE transaction on that leg is still in progress
  // (§14.1), and 491 asks the sender to try again shortly (§14.2).
  const bool up = to && to->dialog &&
                  (to->state == Leg::State::confirmed || (to->state == Leg::State::answered && m != sip_method_invite));
  if (!up) {
    // Not bridged (yet or any more): a re-INVITE cannot be honoured now
    // (RFC 3261 §14.2 suggests 491 for a request that races our own).
    return m == sip_method_invite ? 491 : (m == sip_method_options ? 200 : 481);
  }
  if (m == sip_method_invite) {
    // Our INVITE on the far side still waits for its ACK (§14.1: one at a time).
    if (to->ackRelay || to->ackFork) return 491;
    if (relayedInvite(from.id, true)) return 491;  // glare
  }
  auto r = std::make_unique<Relay>();
  r->owner = this;
  r->from = from.id;
  r->to = to->id;
  r->method = m;
  r->offerless = m == sip_method_invite && !hasBody(sip);
  r->auth = authFor(to->trunk);
  r->timerAnswer = relayTimerAnswer(sip);
  // RFC 3264 offers and answers ride in INVITE and UPDATE (and their 2xx,
  // and the ACK) only; any other request's SDP (an OPTIONS's capabilities)
  // is relayed with seatbridge's address and nothing else read from it.
  const bool offers = m == sip_method_invite || m == sip_method_update;
  if (isSdp(sip)) {
    r->offer = offers ? payloadOf(sip).body : std::string();
    r->sent = offers ? relayedSdp(*to, r->offer, {}) : present(*to, payloadOf(sip).body);
  }
  r->orq = sendRelayed(*r, *to, sip, {});
  if (!r->orq) return 500;
  relayedOffer(from, *to, *r);
  r->irq = irq;
  // Into a trunk that may challenge it: keep the request to send it again.
  if (r->auth.hasCredentials()) r->request = nta_incoming_getrequest(irq);
  relays_[r->orq] = std::move(r);
  return 0;  // answered when the other side answers
}

// `request` (as received on the other leg) sent on in `to`'s dialog: the
// same method, body and event headers; CSeq, Call-ID, tags and route are the
// dialog's (RFC 3261 §12.2.1.1).
nta_outgoing_t* CallLegs::sendRelayed(Relay& r, Leg& to, const sip_t* sip, const std::string& authLines) {
  const sip_method_t m = sip->sip_request->rq_method;
  Payload p = payloadOf(sip);
  if (isSdp(sip)) p.body = r.sent;
  const std::string timer = relayTimerLines(to, m);  // RFC 4028 §7.4: it refreshes `to` too
  return nta_outgoing_tcreate(
      to.dialog, &LegCallbacks::relayResponse, reinterpret_cast<nta_outgoing_magic_t*>(&r),
      to.routeUrl.empty() ? nullptr : URL_STRING_MAKE(to.routeUrl.c_str()), m, sip->sip_request->rq_method_name,
      nullptr, TAG_IF(m == sip_method_invite, SIPTAG_CONTACT(nta_agent_contact(agent_))),
      TAG_IF(sip->sip_event, SIPTAG_EVENT(sip->sip_event)),
      TAG_IF(sip->sip_subscription_state, SIPTAG_SUBSCRIPTION_STATE(sip->sip_subscription_state)),
      TAG_IF(!p.type.empty(), SIPTAG_CONTENT_TYPE_STR(p.type.c_str())),
      TAG_IF(!p.body.empty(), SIPTAG_PAYLOAD_STR(p.body.c_str())), TAG_IF(!authLines.empty(), SIPTAG_HEADER_STR(authLines.c_str())),
      TAG_IF(!timer.empty(), SIPTAG_HEADER_STR(timer.c_str())), SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_END());
}

// A 401/407 to a request relayed into a trunk with credentials: sent again
// with them, once per realm (RFC 3261 §22.2), under its new transaction.
bool CallLegs::challenged(Relay& r, nta_outgoing_t* orq, const sip_t* sip, int status) {
  if (!isChallenge(status, sip) || !r.request) return false;
  Leg* to = find(r.to);
  const sip_t* request = sip_object(r.request);
  if (!to || !to->dialog || !request || !request->sip_request) return false;
  auto lines = r.auth.answer(sip, request->sip_request->rq_method_name, requestUriOf(orq));
  if (!lines) {
    SB_WARN("calls", "the trunk refused our credentials for a relayed %s (%d)", request->sip_request->rq_method_name,
            status);
    return false;
  }
  nta_outgoing_t* again = sendRelayed(r, *to, request, *lines);
  if (!again) return false;
  auto node = relays_.extract(orq);
  if (node.empty()) {
    nta_outgoing_destroy(again);
    return false;
  }
  orqGraveyard_.push_back(std::exchange(r.orq, again));  // released once this callback returns
  node.key() = again;
  relays_.insert(std::move(node));
  return true;
}

int CallLegs::onRelayResponse(Relay& r, nta_outgoing_t* orq, const sip_t* sip) {
  if (orq != r.orq) return 0;  // a request we already sent again
  const int status = nta_outgoing_status(orq);
  if (status < 200 || challenged(r, orq, sip, status)) return 0;
  Leg* to = find(r.to);
  // A re-INVITE without an offer got one in its 2xx: the ACK on this side waits
  // for the answer in the sender's ACK (RFC 3264 §5), and this relay (with its
  // transaction, which absorbs the 2xx's retransmissions) waits on the leg.
  bool holdAck = false;
  if (status < 300 && r.method == sip_method_invite && to && to->dialog && sip) {
    holdAck = r.offerless && hasBody(sip) && !to->ackFork && !to->ackRelay;
    if (holdAck)
      to->ackCseq = cseqOf(sip);
    else
      sendAck(to->dialog, to->routeUrl, cseqOf(sip), r.auth.lines());
    nta_leg_client_reroute(to->dialog, nullptr, sip->sip_contact, 0);  // target refresh, §12.2.1.2
  }
  // A challenge we could not answer goes back as 403: a 401/407 must carry
  // its challenge (RFC 3261 §20.27, §20.44), which is not the sender's to answer.
  const bool unanswerable = status == 401 || status == 407;
  // RFC 4028 §9: a 2xx to a re-INVITE or UPDATE carries our Session-Expires
  // for the leg it came from; both legs' timers restart.
  Leg* from = find(r.from);
  Payload p = sip ? payloadOf(sip) : Payload{};
  const bool offers = r.method == sip_method_invite || r.method == sip_method_update;
  if (sip && isSdp(sip) && status < 300 && offers) {
    // An offerless re-INVITE's 2xx offers (its answer comes in the ACK,
    // sendPendingAck); any other 2xx with SDP answers the request's offer.
    const std::string raw = p.body;
    if (from) p.body = relayedSdp(*from, raw, r.offerless ? std::string() : r.offer);
    if (r.offerless) r.offer = raw;
  } else if (sip && isSdp(sip) && from) {
    p.body = present(*from, p.body);  // not an answer (RFC 3264 §5): only where it points moves
  }
  std::string timer;
  if (status < 300 && sip) {
    relayedRefresh(r, from, to, sip, p.body);
    if (from && r.timerAnswer) timer = uasTimerLines(*from);
  }
  if (r.irq && sip && !unanswerable) {
    const char* phrase = sip->sip_status ? sip->sip_status->st_phrase : nullptr;
    nta_incoming_treply(
        r.irq, status, phrase,
        TAG_IF(r.method == sip_method_invite && status < 300, SIPTAG_CONTACT(nta_agent_contact(agent_))),
        TAG_IF(!p.type.empty(), SIPTAG_CONTENT_TYPE_STR(p.type.c_str())),
        TAG_IF(!p.body.empty(), SIPTAG_PAYLOAD_STR(p.body.c_str())),
        TAG_IF(!timer.empty(), SIPTAG_HEADER_STR(timer.c_str())), SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
  } else if (r.irq) {
    nta_incoming_treply(r.irq, unanswerable ? 403 : status, nullptr, SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
  }
  // A live irq without a callback hands its ACK to the dialog (nta absorbs the
  // ACK of a destroyed one): kept only when that ACK brings the answer.
  if (r.irq && holdAck) {
    r.answered = true;
  } else if (r.irq) {
    nta_incoming_destroy(r.irq);
    r.irq = nullptr;
  }
  // RFC 3261 §12.2.1.2 (dialogGone): 481 or 408 to a request in a dialog ends
  // it, and so does no response at all; nta's own 503 is a transport failure
  // (the phone's port closed: ICMP unreachable, §8.1.3.1), while a 503 the far
  // end sent only refuses this one request. The leg has vanished, and core
  // ends the call.
  if (dialogGone(status, sip).code && to) {
    // A peer that merely lost our request (a one-way path, a stalled phone)
    // still has its side of the call up: a BYE, which nta sends and forgets,
    // tells it the call is over; here after nta's own 408 (a timeout) too.
    // After a 481 the dialog is gone there, and after a transport failure
    // nothing can reach it.
    if (status == 408) sendBye(*to);
    report(core::LegEnded{to->id, status});
    retire(to->id);
  }
  auto it = relays_.find(orq);
  if (it != relays_.end()) {
    if (holdAck && to)
      to->ackRelay = std::move(it->second);
    else
      relayGraveyard_.push_back(std::move(it->second));
    relays_.erase(it);
  }
  if (to && find(r.to) == to) byeIfIdle(*to);  // hung up while this re-INVITE was out
  return 0;
}

}  // namespace sb::sip

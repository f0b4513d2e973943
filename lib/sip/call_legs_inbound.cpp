// An inbound leg: the customer's, a trunk's INVITE, or the agent's, a desk
// phone's authenticated INVITE placing a call. Either becomes a server transaction and a
// dialog of ours (RFC 3261 §12.1.1), answered 100 at once (§17.2.1); its CANCEL
// (§9.2), its ACK (with the answer, after an INVITE without an offer), and
// Timer H when our 2xx is never ACKed (§13.3.1.4).
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include "sip/call_legs_parts.hpp"
#include "sip/call_parse.hpp"

namespace sb::sip {

void CallLegs::acceptInvite(msg_t* msg, sip_t* sip, const std::string& trunk, const std::string& extension,
                            const std::string& routeUrl) {
  // The call arrives as a transaction and a dialog of ours (RFC 3261 §12.1.1):
  // local tag made here, route set from Record-Route, target from Contact.
  const InviteInfo info = parseInvite(sip);
  nta_incoming_t* irq = nta_incoming_create(agent_, nullptr, msg, sip, TAG_END());
  if (!irq) return;  // msg is gone either way
  // RFC 3261 §17.2.1: stop the PBX's INVITE retransmissions at once; ringing
  // follows when core has queued the call.
  nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());
  auto leg = std::make_unique<Leg>();
  leg->owner = this;
  leg->inbound = true;
  leg->trunk = trunk;
  leg->routeUrl = routeUrl;  // a desk phone's NAT source: our requests in its dialog go there
  leg->irq = irq;
  if (refuseByTimer(irq, sip, *leg)) return;  // 422 or 420 (RFC 4028 §9); ~Leg releases irq
  leg->maxForwards = info.maxForwards > 0 ? info.maxForwards - 1 : 0;
  leg->sdp = info.sdp;
  if (!info.contentType.empty()) leg->contentType = info.contentType;
  leg->dialog = nta_leg_tcreate(agent_, &LegCallbacks::dialogRequest, reinterpret_cast<nta_leg_magic_t*>(leg.get()),
                                SIPTAG_CALL_ID(sip->sip_call_id), SIPTAG_FROM(sip->sip_to), SIPTAG_TO(sip->sip_from),
                                NTATAG_REMOTE_CSEQ(sip->sip_cseq->cs_seq), TAG_END());
  if (!leg->dialog || !nta_leg_tag(leg->dialog, nullptr)) {
    nta_incoming_treply(irq, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
    return;  // ~Leg releases the handles
  }
  nta_incoming_tag(irq, nta_leg_get_tag(leg->dialog));
  nta_leg_server_route(leg->dialog, sip->sip_record_route, sip->sip_contact);
  nta_incoming_bind(irq, &LegCallbacks::inviteServer, reinterpret_cast<nta_incoming_magic_t*>(leg.get()));

  core::InboundCall call{trunk, info.number, info.callerNumber, info.callerName, info.ivrPath, extension};
  core::InboundDecision d = hooks_.decide(call);
  leg->id = d.leg;
  Leg& l = *leg;
  legs_[d.leg] = std::move(leg);
  learn(l, l.sdp);  // where the caller's audio is, before any leg is offered it
  hooks_.perform(std::move(d.outputs));
}

int CallLegs::onInviteServerEvent(Leg& leg, nta_incoming_t* irq, const sip_t* sip) {
  if (!sip) {
    // Timer H: our 2xx was never ACKed. RFC 3261 §13.3.1.4: the session is
    // over; end it with a BYE. Before the answer: our reliable 180 was never
    // PRACKed (RFC 3262 §3); nta answers the INVITE 503 and the customer is gone.
    leg.irq = nullptr;
    nta_incoming_destroy(irq);
    if (leg.state == Leg::State::early) {
      report(core::LegCancelled{leg.id});
      retire(leg.id);
      return 0;
    }
    if (leg.state == Leg::State::answered) {
      leg.state = Leg::State::confirmed;
      sendBye(leg);
      if (!leg.byeAfterAck) report(core::LegEnded{leg.id, 408});
      retire(leg.id);
    }
    return 0;
  }
  const sip_method_t m = sip->sip_request ? sip->sip_request->rq_method : sip_method_unknown;
  if (m == sip_method_cancel) {
    // nta has answered the CANCEL 200 and answers the INVITE 487 when we return.
    if (leg.state == Leg::State::early) {
      report(core::LegCancelled{leg.id});
      retire(leg.id);
    }
  } else if (m == sip_method_ack) {
    leg.irq = nullptr;
    nta_incoming_destroy(irq);
    acked(leg, sip);
  }
  return 0;
}

// The ACK of our 2xx to the customer. After an INVITE without an offer it
// carries the customer's answer to the agent's offer, and the agent's 2xx is
// ACKed with it only now (RFC 3264 §5; RFC 3261 §13.2.1).
void CallLegs::acked(Leg& leg, const sip_t* ack) {
  if (leg.state != Leg::State::answered) return;
  leg.state = Leg::State::confirmed;
  if (Leg* agent = leg.peer ? find(leg.peer) : nullptr) {
    const Payload p = payloadOf(ack);
    learn(leg, p.body);
    sendPendingAck(*agent, p.type, p.body);
  }
  if (leg.byeAfterAck) {
    sendBye(leg);
    retire(leg.id);
  } else if (!leg.digits.pending.empty() && !leg.digits.orq) {
    sendDigit(leg);  // asked for while our 2xx waited for this ACK
  }
}
}  // namespace sb::sip

// An inbound leg: the customer's, a trunk's INVITE, or the agent's, a desk
// phone's authenticated INVITE placing a call. Either becomes a server transaction and a
// dialog of ours (RFC 3261 §12.1.1), answered 100 at once (§17.2.1); its CANCEL
// (§9.2), its ACK (with the answer, after an INVITE without an offer), and
// Timer H when our 2xx is never ACKed (§13.3.1.4), timed by our own clock
// since nta's can fire long before 64*T1 (LegAckWait).
#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include "common/clock.hpp"
#include "sip/call_legs_parts.hpp"
#include "sip/call_parse.hpp"
#include "sip/dialog/ack_wait.hpp"

namespace sb::sip {

void CallLegs::acceptInvite(msg_t* msg, sip_t* sip, const std::string& trunk, const std::string& extension,
                            const std::string& routeUrl) {
  // The call arrives as a transaction and a dialog of ours (RFC 3261 §12.1.1):
  // local tag made here, route set from Record-Route, target from Contact.
  if (!hooks_.decide || !hooks_.perform) {
    // The SIP thread reads its sockets from its first moment, but core is
    // wired to the legs a moment later (App::wireGateway posts attachCalls to
    // this thread): an INVITE in between, typically a PBX retransmitting
    // across a restart, would have no one to decide on it (it was answered
    // 500). It is dropped unanswered, as if lost on the wire, and its
    // retransmission (RFC 3261 §17.1.1.2, Timer A) finds core attached.
    nta_msg_discard(agent_, msg);
    return;
  }
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
  // Known from now on, so that its retransmissions never make a second call
  // once nta's transaction is gone (knownInvite).
  leg->inviteKey = inviteKey(sip);
  if (!leg->inviteKey.empty()) invites_[leg->inviteKey] = 0;
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
    if (leg.state == Leg::State::answered &&
        dialog::timerHIsEarly(leg.ackWait.answeredAtMs, monotonicNow().ms, t1x64Ms_)) {
      // Not 64*T1 yet: Sofia's early Timer H (see LegAckWait). The ACK may
      // well still come; we wait for it ourselves.
      awaitAckOurselves(leg, irq);
      return 0;
    }
    if (leg.irq == irq) leg.irq = nullptr;
    nta_incoming_destroy(irq);
    if (leg.state == Leg::State::early) {
      report(core::LegCancelled{leg.id});
      retire(leg.id);
      return 0;
    }
    if (leg.state == Leg::State::answered) ackTimedOut(leg);
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
    if (leg.irq == irq) leg.irq = nullptr;
    nta_incoming_destroy(irq);
    acked(leg, sip);
  }
  return 0;
}

// RFC 3261 §13.3.1.4: no ACK within 64*T1 of our 2xx; the session is over.
void CallLegs::ackTimedOut(Leg& leg) {
  leg.ackWait.clear();
  leg.state = Leg::State::confirmed;
  sendBye(leg);
  if (!leg.byeAfterAck) report(core::LegEnded{leg.id, 408});
  retire(leg.id);
}

// nta fired Timer H for our 2xx before 64*T1 had passed. Its transaction is
// over either way (it stopped retransmitting the 2xx), so the rest of the wait
// is ours, as RFC 3261 §13.3.1.4 puts it on the UAS core anyway (§17.2.1: a
// 2xx is not the transaction's to retransmit): we keep the 2xx and its INVITE,
// retransmit the 2xx at T1 doubling to T2 until the ACK or the real deadline,
// and let the transaction go, so the ACK reaches the dialog (a live one would
// absorb it) and onDialogRequest calls acked().
void CallLegs::awaitAckOurselves(Leg& leg, nta_incoming_t* irq) {
  LegAckWait& w = leg.ackWait;
  const int64_t now = monotonicNow().ms;
  if (!w.ours()) {
    w.response = nta_incoming_getresponse(irq);
    w.request = nta_incoming_getrequest(irq);
    w.intervalMs = 0;
  }
  if (leg.irq == irq) leg.irq = nullptr;
  nta_incoming_destroy(irq);
  ++earlyTimerH_;
  if (earlyTimerHLoggedAtMs_ == 0 || now - earlyTimerHLoggedAtMs_ >= 10'000) {
    SB_WARN("calls",
            "nta's Timer H fired %lld ms after our 200 (64*T1 is %lld ms) for %llu call(s) since the last warning: "
            "the ACK is waited for until 64*T1 (Sofia's cached-clock bug, docs/OPERATIONS.md)",
            static_cast<long long>(now - w.answeredAtMs), static_cast<long long>(t1x64Ms_),
            static_cast<unsigned long long>(earlyTimerH_));
    earlyTimerH_ = 0;
    earlyTimerHLoggedAtMs_ = now;
  }
  if (!w.ours()) {
    // Nothing to retransmit (cannot happen: nta keeps both until freed): the
    // wait still lasts until 64*T1.
    SB_WARN("calls", "leg %llu: no 200 to retransmit after nta's early Timer H", static_cast<unsigned long long>(leg.id));
  }
  armAckWait(leg);
}

void CallLegs::armAckWait(Leg& leg) {
  LegAckWait& w = leg.ackWait;
  const int64_t interval = dialog::next2xxIntervalMs(w.intervalMs);
  const dialog::AckWaitStep step = dialog::nextAckWaitStep(w.answeredAtMs, monotonicNow().ms, t1x64Ms_, interval);
  if (step.retransmit) w.intervalMs = interval;
  if (!w.timer) w.timer.reset(su_timer_create(su_root_task(root_), 1000));
  if (w.timer) su_timer_set_interval(w.timer.get(), &LegCallbacks::ackWait, &leg, step.inMs);
}

void CallLegs::onAckWait(Leg& leg) {
  if (find(leg.id) != &leg || leg.state != Leg::State::answered) return;
  if (dialog::ackWaitLeftMs(leg.ackWait.answeredAtMs, monotonicNow().ms, t1x64Ms_) == 0) {
    // A retransmitted INVITE may have given the leg a transaction again
    // (inviteRetransmitted): it is over with the wait.
    if (leg.irq) nta_incoming_destroy(std::exchange(leg.irq, nullptr));
    ackTimedOut(leg);
    return;
  }
  // While a retransmitted INVITE's transaction holds the 2xx, nta retransmits it.
  if (!leg.irq) retransmit2xx(leg);
  armAckWait(leg);
}

// Our 2xx once more, as it first went (same To tag, Contact and SDP), to the
// INVITE's Via like any response (RFC 3261 §18.2.2), on the transport the
// INVITE came on: nta's stateless reply with a copy of the 2xx already made.
bool CallLegs::retransmit2xx(Leg& leg) {
  LegAckWait& w = leg.ackWait;
  if (!w.response || !w.request) return false;
  msg_t* copy = msg_dup(w.response);
  if (!copy) return false;
  return nta_msg_mreply(agent_, copy, sip_object(copy), SIP_200_OK, msg_ref_create(w.request), TAG_END()) == 0;
}

// A retransmission of the INVITE our 2xx answered, after nta let its
// transaction go early: the caller has not had our 2xx (RFC 3261 §17.1.1.2: it
// stops retransmitting once it has). nta matched it to the dialog (it carries
// no To tag, and our tag was added after the leg was made: a loose match), so
// it must not be taken for a re-INVITE. It becomes the leg's transaction
// again, answered with the same 2xx, which nta then retransmits; its ACK or
// Timer H comes back through onInviteServerEvent, and our deadline stands.
std::optional<int> CallLegs::inviteRetransmitted(Leg& leg, nta_incoming_t* irq, const sip_t* sip) {
  if (!leg.inbound || leg.state != Leg::State::answered || !leg.ackWait.ours() || leg.irq) return std::nullopt;
  if (!sip->sip_to || sip->sip_to->a_tag || inviteKey(sip) != leg.inviteKey || leg.inviteKey.empty())
    return std::nullopt;
  msg_t* copy = msg_dup(leg.ackWait.response);
  if (!copy) return 500;
  nta_incoming_bind(irq, &LegCallbacks::inviteServer, reinterpret_cast<nta_incoming_magic_t*>(&leg));
  if (nta_incoming_mreply(irq, copy) < 0) return 500;
  leg.irq = irq;
  return 0;  // answered (with our 2xx) above
}

bool CallLegs::knownInvite(const sip_t* sip) const {
  if (invites_.empty()) return false;
  const std::string key = inviteKey(sip);
  if (key.empty()) return false;
  auto it = invites_.find(key);
  return it != invites_.end() && (it->second == 0 || it->second > monotonicNow().ms);
}

// The ACK of our 2xx to the customer. After an INVITE without an offer it
// carries the customer's answer to the agent's offer, and the agent's 2xx is
// ACKed with it only now (RFC 3264 §5; RFC 3261 §13.2.1).
void CallLegs::acked(Leg& leg, const sip_t* ack) {
  if (leg.state != Leg::State::answered) return;
  leg.state = Leg::State::confirmed;
  leg.ackWait.clear();
  if (Leg* agent = leg.peer ? find(leg.peer) : nullptr) {
    const Payload p = payloadOf(ack);
    renegotiated(leg, learn(leg, p.body));  // the bridge's codec, which LegAnswered could not know yet
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

// bench/legs.d/nta_legs: a UAS on nta legs, one agent in UA mode (NTATAG_UA(1)).
//
// Every request first meets the agent's stateless message callback, as in
// seatbridge's front door. A new INVITE (no To tag) gets a Call: a dialog leg
// (local tag, route set from Record-Route and Contact) and a server
// transaction made from the message with nta_incoming_create, answered 180
// then 200 with SDP. nta retransmits the 200 until the ACK (UA mode), absorbs
// INVITE retransmissions and answers a late CANCEL 481.
//   --ack leg (default): the ACK reaches the leg callback as its own request;
//     the INVITE transaction is released there.
//   --ack irq: the INVITE transaction is bound (nta_incoming_bind), so the ACK,
//     a CANCEL or Timer H comes to that callback instead, as nua does it.
// BYE on the leg is answered 200, then the leg is destroyed. Transactions
// linger inside nta for their RFC 3261 timers (Timer J for BYE, 32 s on UDP).
//
// usage: nta_legs --port N [--host 127.0.0.1] [--ack leg|irq]
#define NTA_AGENT_MAGIC_T struct Server
#define NTA_LEG_MAGIC_T struct Call
#define NTA_INCOMING_MAGIC_T struct Call

#include <cstdio>
#include <string>

#include <sofia-sip/nta.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_tag.h>

#include "control.hpp"

struct Call {
  struct Server* server = nullptr;
  nta_leg_t* leg = nullptr;
  nta_incoming_t* invite = nullptr;  // until ACK (or BYE, CANCEL, Timer H)
  Call* prev = nullptr;
  Call* next = nullptr;
};

struct Server {
  su_root_t* root = nullptr;
  nta_agent_t* agent = nullptr;
  bool ack_on_irq = false;
  Call* calls = nullptr;  // every live call, to free them at the end
  unsigned long live = 0, invites = 0, acks = 0, byes = 0, stray = 0, failed = 0;

  Call* add() {
    auto* c = new Call;
    c->server = this;
    c->next = calls;
    if (calls) calls->prev = c;
    calls = c;
    ++live;
    return c;
  }

  void finish(Call* c) {
    if (c->invite) nta_incoming_destroy(c->invite);
    if (c->leg) nta_leg_destroy(c->leg);
    if (c->prev) c->prev->next = c->next; else calls = c->next;
    if (c->next) c->next->prev = c->prev;
    --live;
    delete c;
  }
};

namespace {

// ACK, CANCEL or Timer H (sip == nullptr) on the bound INVITE transaction.
int on_invite_irq(Call* c, nta_incoming_t* irq, sip_t const* sip) noexcept {
  Server* s = c->server;
  nta_incoming_destroy(irq);  // freed by nta after Timer I
  c->invite = nullptr;
  if (sip && sip->sip_request && sip->sip_request->rq_method == sip_method_ack) {
    ++s->acks;
  } else {  // CANCEL after our 200, or no ACK within Timer H: the call is over
    ++s->failed;
    s->finish(c);
  }
  return 0;
}

// In-dialog requests: ACK (--ack leg), BYE, anything else.
int on_leg(Call* c, nta_leg_t*, nta_incoming_t* irq, sip_t const* sip) noexcept {
  Server* s = c->server;
  switch (sip->sip_request->rq_method) {
    case sip_method_ack:
      ++s->acks;
      if (c->invite) nta_incoming_destroy(c->invite), c->invite = nullptr;
      nta_incoming_destroy(irq);  // an ACK has no answer
      return 0;
    case sip_method_bye:
      ++s->byes;
      nta_incoming_treply(irq, SIP_200_OK, TAG_END());
      nta_incoming_destroy(irq);  // held by nta for Timer J
      s->finish(c);               // destroying the leg in its own callback is safe
      return 0;
    case sip_method_invite:
      return 488;  // no re-INVITEs in this spike
    default:
      return 405;
  }
}

void answer_invite(Server* s, msg_t* msg, sip_t* sip) {
  Call* c = s->add();
  c->leg = nta_leg_tcreate(s->agent, on_leg, c,
                           SIPTAG_CALL_ID(sip->sip_call_id),
                           SIPTAG_FROM(sip->sip_to),  // local: To of the request
                           SIPTAG_TO(sip->sip_from),  // remote, with its tag
                           NTATAG_REMOTE_CSEQ(sip->sip_cseq->cs_seq),
                           TAG_END());
  if (!c->leg || !nta_leg_tag(c->leg, nullptr)) {
    ++s->failed;
    nta_msg_treply(s->agent, msg, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
    s->finish(c);
    return;
  }
  nta_leg_server_route(c->leg, sip->sip_record_route, sip->sip_contact);
  // Takes msg; the transaction's To tag is the leg's local tag.
  c->invite = nta_incoming_create(s->agent, c->leg, msg, sip, TAG_END());
  if (!c->invite) {
    ++s->failed;
    s->finish(c);
    return;
  }
  if (s->ack_on_irq) nta_incoming_bind(c->invite, on_invite_irq, c);
  sip_contact_t const* contact = nta_agent_contact(s->agent);
  nta_incoming_treply(c->invite, SIP_180_RINGING, SIPTAG_CONTACT(contact), TAG_END());
  nta_incoming_treply(c->invite, SIP_200_OK, SIPTAG_CONTACT(contact),
                      SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                      SIPTAG_PAYLOAD_STR(legs::kSdp), TAG_END());
}

// Requests that match no transaction and no leg.
int on_message(Server* s, nta_agent_t*, msg_t* msg, sip_t* sip) noexcept {
  if (!sip || !sip->sip_request) {  // a stray response
    msg_destroy(msg);
    return 0;
  }
  sip_method_t m = sip->sip_request->rq_method;
  if (m == sip_method_invite && sip->sip_to && !sip->sip_to->a_tag) {
    ++s->invites;
    answer_invite(s, msg, sip);
  } else if (m == sip_method_ack) {
    ++s->stray;
    msg_destroy(msg);
  } else if (m == sip_method_options) {
    nta_msg_treply(s->agent, msg, SIP_200_OK, TAG_END());
  } else {
    ++s->stray;
    nta_msg_treply(s->agent, msg, SIP_481_NO_TRANSACTION, TAG_END());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  legs::Options opt = legs::parse(argc, argv, true);
  su_init();
  Server s;
  s.ack_on_irq = opt.ack_on_irq;
  s.root = su_root_create(nullptr);
  if (!s.root) return std::fprintf(stderr, "nta_legs: su_root_create failed\n"), 1;
  std::string url = "sip:" + opt.host + ":" + std::to_string(opt.port) + ";transport=udp";
  s.agent = nta_agent_create(s.root, URL_STRING_MAKE(url.c_str()), on_message, &s,
                             NTATAG_UA(1), TAG_END());
  if (!s.agent) {
    std::fprintf(stderr, "nta_legs: cannot listen on %s\n", url.c_str());
    return 1;
  }
  {
    legs::Control control(
        s.root,
        [&s] {
          usize_t irqs = 0, legs_used = 0;
          nta_agent_get_stats(s.agent, NTATAG_S_IRQ_HASH_USED_REF(irqs),
                              NTATAG_S_LEG_HASH_USED_REF(legs_used), TAG_END());
          return "live=" + std::to_string(s.live) + " invites=" + std::to_string(s.invites) +
                 " acks=" + std::to_string(s.acks) + " byes=" + std::to_string(s.byes) +
                 " stray=" + std::to_string(s.stray) + " failed=" + std::to_string(s.failed) +
                 " nta_transactions=" + std::to_string(irqs) + " nta_legs=" + std::to_string(legs_used);
        },
        [&s] { su_root_break(s.root); });
    if (!control.ok()) return std::fprintf(stderr, "nta_legs: cannot watch stdin\n"), 1;
    std::printf("ready nta_legs %s ack=%s\n", url.c_str(), opt.ack_on_irq ? "irq" : "leg");
    std::fflush(stdout);

    su_root_run(s.root);
  }

  while (s.calls) s.finish(s.calls);
  nta_agent_destroy(s.agent);
  su_root_destroy(s.root);
  su_deinit();
  return 0;
}

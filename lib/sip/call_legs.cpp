#include "sip/call_legs.hpp"

#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include <algorithm>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "metrics/metrics.hpp"
#include "sip/call_parse.hpp"
#include "sip/register_parse.hpp"

namespace sb::sip {

// What we take and say in every dialog (RFC 3261 §20.5).
constexpr const char* kAllow = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY";
// RFC 3261 §9.1: a CANCELled INVITE still without a final answer after 64*T1 is
// given up; so is a fork that lost to another fork's 2xx.
constexpr int64_t kOrphanMs = 32'000;

struct CallLegs::Fork {
  CallLegs* owner = nullptr;
  core::LegId legId = 0;  // 0 once orphaned
  nta_leg_t* dialog = nullptr;
  nta_outgoing_t* orq = nullptr;
  std::string routeUrl;  // next hop (a phone's NAT source), empty: by the Request-URI
  int status = 0;
  int64_t orphanedAtMs = 0;

  ~Fork() {
    if (orq) nta_outgoing_destroy(orq);
    if (dialog) nta_leg_destroy(dialog);
  }
};

// One side of a call. Inbound: the customer's INVITE server transaction and the
// dialog we answer it in. Outbound: while calling, one Fork per contact; after the
// first 2xx, the winning fork's dialog.
struct CallLegs::Leg {
  enum class State {
    early,      // inbound: not answered; outbound: calling
    answered,   // inbound: our 2xx sent, its ACK not yet here
    confirmed,  // dialog up
  };
  CallLegs* owner = nullptr;
  core::LegId id = 0;
  bool inbound = true;
  State state = State::early;
  nta_incoming_t* irq = nullptr;
  nta_leg_t* dialog = nullptr;
  std::string routeUrl;
  std::string contentType = "application/sdp";
  std::string sdp;            // inbound: the customer's offer; outbound: the agent's answer
  unsigned maxForwards = 70;  // what the next hop gets (already decremented)
  core::LegId peer = 0;
  bool byeAfterAck = false;  // RFC 3261 §15: no BYE before our 2xx is ACKed
  bool ringingReported = false;
  std::string callerNumber;  // outbound: presented in From
  std::string trunk;         // inbound: the trunk it came from
  int bestFailure = 0;
  std::vector<std::unique_ptr<Fork>> forks;

  ~Leg() {
    if (irq) nta_incoming_destroy(irq);
    if (dialog) nta_leg_destroy(dialog);
  }
};

// A request received on one leg and sent on, in the same dialog, on the other.
struct CallLegs::Relay {
  CallLegs* owner = nullptr;
  core::LegId from = 0;  // where it came in (its irq waits for the answer)
  core::LegId to = 0;    // where it went out
  nta_incoming_t* irq = nullptr;
  nta_outgoing_t* orq = nullptr;
  sip_method_t method = sip_method_unknown;
  ~Relay() {
    if (orq) nta_outgoing_destroy(orq);
    if (irq) {
      // The other side vanished before answering: the dialog is gone for them
      // too (RFC 3261 §12.2.2).
      nta_incoming_treply(irq, SIP_481_NO_TRANSACTION, TAG_END());
      nta_incoming_destroy(irq);
    }
  }
};

// ---- trampolines: the C boundary ------------------------------------------------------

struct LegCallbacks {
  template <typename Fn>
  static int guarded(CallLegs& owner, const char* what, Fn&& fn) noexcept {
    ++owner.depth_;
    int r = 500;
    try {
      r = fn();
    } catch (const std::exception& e) {
      SB_ERROR("calls", "%s failed: %s", what, e.what());
    }
    try {
      owner.leave();
    } catch (const std::exception& e) {
      SB_ERROR("calls", "after %s: %s", what, e.what());
    }
    return r;
  }
  static int dialogRequest(nta_leg_magic_t* m, nta_leg_t*, nta_incoming_t* irq, const sip_t* sip) noexcept {
    auto* leg = reinterpret_cast<CallLegs::Leg*>(m);
    return guarded(*leg->owner, "dialog request", [&] { return leg->owner->onDialogRequest(*leg, irq, sip); });
  }
  // Requests on a fork's early dialog: nothing is relayed before the answer.
  static int forkRequest(nta_leg_magic_t*, nta_leg_t*, nta_incoming_t*, const sip_t*) noexcept { return 481; }
  static int inviteServer(nta_incoming_magic_t* m, nta_incoming_t* irq, const sip_t* sip) noexcept {
    auto* leg = reinterpret_cast<CallLegs::Leg*>(m);
    return guarded(*leg->owner, "INVITE server event", [&] { return leg->owner->onInviteServerEvent(*leg, irq, sip); });
  }
  static int forkResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept {
    auto* fork = reinterpret_cast<CallLegs::Fork*>(m);
    return guarded(*fork->owner, "INVITE response", [&] { return fork->owner->onForkResponse(*fork, orq, sip); });
  }
  static int relayResponse(nta_outgoing_magic_t* m, nta_outgoing_t* orq, const sip_t* sip) noexcept {
    auto* relay = reinterpret_cast<CallLegs::Relay*>(m);
    return guarded(*relay->owner, "relayed response", [&] { return relay->owner->onRelayResponse(*relay, orq, sip); });
  }
};

void CallLegs::onSweep(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) noexcept {
  auto* self = static_cast<CallLegs*>(arg);
  LegCallbacks::guarded(*self, "sweep", [&] {
    self->sweep();
    return 0;
  });
}

// ---- life --------------------------------------------------------------------------

CallLegs::CallLegs(su_root_t* root, nta_agent_t* agent, const config::Config& config, metrics::Metrics& metrics,
                   ContactLookup contacts, std::string serverHeader)
    : root_(root), agent_(agent), metrics_(metrics), contacts_(std::move(contacts)), server_(std::move(serverHeader)) {
  applyConfig(config);
  sweeper_.reset(su_timer_create(su_root_task(root_), 1000));
  if (sweeper_) su_timer_set_for_ever(sweeper_.get(), &CallLegs::onSweep, this);
}

CallLegs::~CallLegs() {
  sweeper_.reset();
  relays_.clear();
  legs_.clear();
  orphans_.clear();
  graveyard_.clear();
  forkGraveyard_.clear();
}

void CallLegs::applyConfig(const config::Config& config) {
  domain_ = config.sip.domain;
  trunks_ = config.trunks;
}

void CallLegs::leave() {
  if (--depth_ > 0) return;
  // Facts found while carrying out actions or inside a Sofia callback go to core
  // only now, so core never sees a fact in the middle of another input's actions.
  ++depth_;
  while (!pending_.empty()) {
    core::LegFact f = pending_.front();
    pending_.pop_front();
    if (hooks_.fact) hooks_.fact(f);
  }
  --depth_;
  reap();
}

void CallLegs::report(const core::LegFact& fact) { pending_.push_back(fact); }

size_t CallLegs::inboundCalls(const std::string& trunk) const {
  size_t n = 0;
  for (const auto& [id, leg] : legs_)
    if (leg->inbound && leg->trunk == trunk) ++n;
  return n;
}

CallLegs::Leg* CallLegs::find(core::LegId id) {
  auto it = legs_.find(id);
  return it == legs_.end() ? nullptr : it->second.get();
}

void CallLegs::retire(core::LegId id) {
  auto it = legs_.find(id);
  if (it == legs_.end()) return;
  for (auto r = relays_.begin(); r != relays_.end();) {
    if (r->second->from == id || r->second->to == id) {
      relayGraveyard_.push_back(std::move(r->second));
      r = relays_.erase(r);
    } else {
      ++r;
    }
  }
  // Forks still calling are CANCELled and kept until they end (a 2xx that
  // crosses the CANCEL still needs its ACK and BYE).
  for (auto& f : it->second->forks) orphan(std::move(f));
  it->second->forks.clear();
  graveyard_.push_back(std::move(it->second));
  legs_.erase(it);
}

void CallLegs::orphan(std::unique_ptr<Fork> fork) {
  if (!fork) return;
  if (fork->orq && fork->status < 200) nta_outgoing_cancel(fork->orq);
  fork->legId = 0;
  fork->orphanedAtMs = monotonicNow().ms;
  Fork* key = fork.get();
  orphans_[key] = std::move(fork);
}

void CallLegs::reap() {
  relayGraveyard_.clear();
  graveyard_.clear();
  forkGraveyard_.clear();
}

void CallLegs::sweep() {
  const int64_t now = monotonicNow().ms;
  for (auto it = orphans_.begin(); it != orphans_.end();) {
    if (now - it->second->orphanedAtMs >= kOrphanMs) {
      forkGraveyard_.push_back(std::move(it->second));
      it = orphans_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---- inbound ------------------------------------------------------------------------

void CallLegs::onTrunkInvite(msg_t* msg, sip_t* sip, const config::Trunk& trunk) {
  LegCallbacks::guarded(*this, "trunk INVITE", [&] {
    acceptInvite(msg, sip, trunk);
    return 0;
  });
}

void CallLegs::acceptInvite(msg_t* msg, sip_t* sip, const config::Trunk& trunk) {
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
  leg->trunk = trunk.name;
  leg->irq = irq;
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

  core::InboundCall call{trunk.name, info.number, info.callerNumber, info.callerName, info.ivrPath};
  core::InboundDecision d = hooks_.decide(call);
  leg->id = d.leg;
  legs_[d.leg] = std::move(leg);
  hooks_.perform(std::move(d.outputs));
}

int CallLegs::onInviteServerEvent(Leg& leg, nta_incoming_t* irq, const sip_t* sip) {
  if (!sip) {
    // Timer H: our 2xx was never ACKed. RFC 3261 §13.3.1.4: the session is
    // over; end it with a BYE.
    leg.irq = nullptr;
    nta_incoming_destroy(irq);
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
    if (leg.state == Leg::State::answered) {
      leg.state = Leg::State::confirmed;
      if (leg.byeAfterAck) {
        sendBye(leg);
        retire(leg.id);
      }
    }
  }
  return 0;
}

// ---- outbound -----------------------------------------------------------------------

void CallLegs::ring(const core::RingLeg& a) {
  Leg* src = find(a.offerFrom);
  auto leg = std::make_unique<Leg>();
  leg->owner = this;
  leg->id = a.leg;
  leg->inbound = false;
  Leg& l = *leg;
  legs_[a.leg] = std::move(leg);
  if (!src) {
    report(core::LegFailed{a.leg, 487});  // the customer left meanwhile
    retire(a.leg);
    return;
  }
  l.maxForwards = src->maxForwards;
  l.contentType = src->contentType;
  l.callerNumber = a.callerNumber;
  l.sdp = src->sdp;
  if (src->maxForwards == 0) {
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
      ringFork(l, uri, {}, "<" + uri + ">");
    }
  }
  if (l.forks.empty()) {
    report(core::LegFailed{a.leg, 480});  // no contact to ring (RFC 3261 §21.4.18)
    retire(a.leg);
  }
  l.sdp.clear();  // the offer went out; this leg's sdp is the answer from now on
}

void CallLegs::ringFork(Leg& leg, const std::string& requestUri, const std::string& routeUrl,
                        const std::string& toUri) {
  auto f = std::make_unique<Fork>();
  f->owner = this;
  f->legId = leg.id;
  f->routeUrl = routeUrl;
  const std::string from = "<sip:" + (leg.callerNumber.empty() ? "anonymous" : leg.callerNumber) + "@" + domain_ + ">";
  f->dialog = nta_leg_tcreate(agent_, &LegCallbacks::forkRequest, reinterpret_cast<nta_leg_magic_t*>(f.get()),
                              SIPTAG_FROM_STR(from.c_str()), SIPTAG_TO_STR(toUri.c_str()), TAG_END());
  if (!f->dialog || !nta_leg_tag(f->dialog, nullptr)) return;
  const std::string mf = std::to_string(leg.maxForwards);
  f->orq = nta_outgoing_tcreate(
      f->dialog, &LegCallbacks::forkResponse, reinterpret_cast<nta_outgoing_magic_t*>(f.get()),
      routeUrl.empty() ? nullptr : URL_STRING_MAKE(routeUrl.c_str()), SIP_METHOD_INVITE,
      URL_STRING_MAKE(requestUri.c_str()), SIPTAG_CONTACT(nta_agent_contact(agent_)),
      SIPTAG_MAX_FORWARDS_STR(mf.c_str()), SIPTAG_USER_AGENT_STR(server_.c_str()), SIPTAG_ALLOW_STR(kAllow),
      TAG_IF(!leg.sdp.empty(), SIPTAG_CONTENT_TYPE_STR(leg.contentType.c_str())),
      TAG_IF(!leg.sdp.empty(), SIPTAG_PAYLOAD_STR(leg.sdp.c_str())), TAG_END());
  if (!f->orq) {
    SB_WARN("calls", "cannot send INVITE to %s", requestUri.c_str());
    return;
  }
  leg.forks.push_back(std::move(f));
}

int CallLegs::onForkResponse(Fork& fork, nta_outgoing_t* orq, const sip_t* sip) {
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
    if (status > 100 && !leg->ringingReported) {
      leg->ringingReported = true;
      report(core::LegRinging{leg->id, status});
    }
    return 0;
  }
  if (status < 300 && sip)
    forkAnswered(*leg, fork, sip);
  else
    forkFailed(*leg, fork, status);
  return 0;
}

void CallLegs::sendAck(nta_leg_t* dialog, const std::string& routeUrl, const sip_t* sip) {
  // RFC 3261 §13.2.2.4: the ACK for a 2xx is a request of the dialog, with the
  // INVITE's CSeq number, sent to the target the 2xx's Contact names.
  const std::string cseq = std::to_string(sip->sip_cseq ? sip->sip_cseq->cs_seq : 1) + " ACK";
  nta_outgoing_t* ack =
      nta_outgoing_tcreate(dialog, nullptr, nullptr, routeUrl.empty() ? nullptr : URL_STRING_MAKE(routeUrl.c_str()),
                           SIP_METHOD_ACK, nullptr, SIPTAG_CSEQ_STR(cseq.c_str()), TAG_END());
  if (ack) nta_outgoing_destroy(ack);  // nta keeps it to re-ACK retransmitted 2xx
}

void CallLegs::adoptDialog(nta_leg_t* dialog, const sip_t* sip) {
  if (sip->sip_to && sip->sip_to->a_tag) nta_leg_rtag(dialog, sip->sip_to->a_tag);
  // RFC 3261 §12.1.2: route set from Record-Route (reversed by nta), target from Contact.
  nta_leg_client_reroute(dialog, sip->sip_record_route, sip->sip_contact, 1);
}

void CallLegs::ackAndBye(Fork& fork, const sip_t* sip) {
  if (!fork.dialog) return;
  adoptDialog(fork.dialog, sip);
  sendAck(fork.dialog, fork.routeUrl, sip);
  nta_outgoing_t* bye = nta_outgoing_tcreate(
      fork.dialog, nullptr, nullptr, fork.routeUrl.empty() ? nullptr : URL_STRING_MAKE(fork.routeUrl.c_str()),
      SIP_METHOD_BYE, nullptr, SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_END());
  if (bye) nta_outgoing_destroy(bye);
}

void CallLegs::forkAnswered(Leg& leg, Fork& fork, const sip_t* sip) {
  if (leg.state != Leg::State::early) {
    ackAndBye(fork, sip);  // a second fork answered too late: one dialog only
    return;
  }
  adoptDialog(fork.dialog, sip);
  sendAck(fork.dialog, fork.routeUrl, sip);
  // The winning fork's dialog becomes the leg's.
  leg.dialog = std::exchange(fork.dialog, nullptr);
  nta_leg_bind(leg.dialog, &LegCallbacks::dialogRequest, reinterpret_cast<nta_leg_magic_t*>(&leg));
  leg.routeUrl = fork.routeUrl;
  leg.state = Leg::State::confirmed;
  leg.sdp = sip->sip_payload ? std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len) : std::string();
  if (sip->sip_content_type && sip->sip_content_type->c_type) leg.contentType = sip->sip_content_type->c_type;
  // First 2xx wins: every other fork is CANCELled (and BYEd if it answers anyway).
  for (auto& f : leg.forks) {
    if (f.get() == &fork) {
      forkGraveyard_.push_back(std::move(f));
    } else {
      orphan(std::move(f));
    }
  }
  leg.forks.clear();
  report(core::LegAnswered{leg.id});
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

// ---- actions ------------------------------------------------------------------------

void CallLegs::execute(const core::Action& action) {
  ++depth_;
  try {
    std::visit(
        [&](const auto& a) {
          using A = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<A, core::RingLeg>)
            ring(a);
          else if constexpr (std::is_same_v<A, core::SendProvisional>)
            provisional(a);
          else if constexpr (std::is_same_v<A, core::AnswerLeg>)
            answer(a);
          else if constexpr (std::is_same_v<A, core::BridgeLegs>)
            bridge(a);
          else if constexpr (std::is_same_v<A, core::CancelLeg>)
            cancel(a);
          else if constexpr (std::is_same_v<A, core::RejectLeg>)
            reject(a);
          else if constexpr (std::is_same_v<A, core::HangUpLeg>)
            hangUp(a);
        },
        action);
  } catch (const std::exception& e) {
    SB_ERROR("calls", "leg action failed: %s", e.what());
  }
  leave();
}

void CallLegs::provisional(const core::SendProvisional& a) {
  Leg* l = find(a.leg);
  if (!l || !l->inbound || l->state != Leg::State::early || !l->irq) return;
  nta_incoming_treply(l->irq, a.code, nullptr, SIPTAG_CONTACT(nta_agent_contact(agent_)),
                      SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
}

void CallLegs::answer(const core::AnswerLeg& a) {
  Leg* in = find(a.leg);
  Leg* out = find(a.with);
  if (!in || !in->inbound || in->state != Leg::State::early || !in->irq) return;
  const std::string sdp = out ? out->sdp : std::string();
  const std::string type = out ? out->contentType : std::string("application/sdp");
  nta_incoming_treply(in->irq, SIP_200_OK, SIPTAG_CONTACT(nta_agent_contact(agent_)), SIPTAG_ALLOW_STR(kAllow),
                      SIPTAG_SERVER_STR(server_.c_str()), TAG_IF(!sdp.empty(), SIPTAG_CONTENT_TYPE_STR(type.c_str())),
                      TAG_IF(!sdp.empty(), SIPTAG_PAYLOAD_STR(sdp.c_str())), TAG_END());
  in->state = Leg::State::answered;
}

void CallLegs::reject(const core::RejectLeg& a) {
  Leg* l = find(a.leg);
  if (!l || !l->inbound || l->state != Leg::State::early || !l->irq) return;
  nta_incoming_treply(l->irq, a.code, a.phrase.empty() ? nullptr : a.phrase.c_str(), SIPTAG_SERVER_STR(server_.c_str()),
                      TAG_END());
  retire(a.leg);
}

void CallLegs::cancel(const core::CancelLeg& a) {
  Leg* l = find(a.leg);
  if (!l) return;
  if (l->state == Leg::State::confirmed) sendBye(*l);  // the 2xx crossed our decision
  retire(a.leg);                                       // forks still calling are CANCELled there
}

void CallLegs::hangUp(const core::HangUpLeg& a) {
  Leg* l = find(a.leg);
  if (!l) return;
  switch (l->state) {
    case Leg::State::early:
      if (l->inbound && l->irq)
        nta_incoming_treply(l->irq, SIP_480_TEMPORARILY_UNAVAILABLE, SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
      retire(a.leg);
      return;
    case Leg::State::answered:
      l->byeAfterAck = true;  // sent when the ACK (or Timer H) comes
      return;
    case Leg::State::confirmed:
      sendBye(*l);
      retire(a.leg);
      return;
  }
}

void CallLegs::bridge(const core::BridgeLegs& a) {
  Leg* x = find(a.a);
  Leg* y = find(a.b);
  if (x) x->peer = a.b;
  if (y) y->peer = a.a;
}

void CallLegs::sendBye(Leg& leg) {
  if (!leg.dialog) return;
  nta_outgoing_t* bye = nta_outgoing_tcreate(
      leg.dialog, nullptr, nullptr, leg.routeUrl.empty() ? nullptr : URL_STRING_MAKE(leg.routeUrl.c_str()),
      SIP_METHOD_BYE, nullptr, SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_END());
  if (bye) nta_outgoing_destroy(bye);  // nta completes the transaction on its own
}

// ---- in-dialog requests ---------------------------------------------------------------

int CallLegs::onDialogRequest(Leg& leg, nta_incoming_t* irq, const sip_t* sip) {
  const sip_method_t m = sip->sip_request->rq_method;
  switch (m) {
    case sip_method_ack:
      // The ACK of a 2xx we sent (or of a relayed re-INVITE's 2xx, which we
      // already ACKed on the other side ourselves).
      if (leg.inbound && leg.state == Leg::State::answered) {
        leg.state = Leg::State::confirmed;
        if (leg.irq) {
          nta_incoming_destroy(leg.irq);
          leg.irq = nullptr;
        }
        if (leg.byeAfterAck) {
          sendBye(leg);
          retire(leg.id);
        }
      }
      nta_incoming_destroy(irq);
      return 0;
    case sip_method_bye:
      // RFC 3261 §15.1.2: answer 200 and end the session; the peer is hung up by core.
      if (!leg.byeAfterAck) report(core::LegEnded{leg.id, 0});
      retire(leg.id);
      return 200;
    case sip_method_invite:
    case sip_method_update:
    case sip_method_info:
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
    for (const auto& [orq, r] : relays_)
      if (r->method == sip_method_invite && (r->from == from.id || r->to == from.id)) return 491;  // glare
  }
  auto r = std::make_unique<Relay>();
  r->owner = this;
  r->from = from.id;
  r->to = to->id;
  r->method = m;
  const std::string body = sip->sip_payload ? std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len) : "";
  const char* type = sip->sip_content_type ? sip->sip_content_type->c_type : nullptr;
  r->orq = nta_outgoing_tcreate(
      to->dialog, &LegCallbacks::relayResponse, reinterpret_cast<nta_outgoing_magic_t*>(r.get()),
      to->routeUrl.empty() ? nullptr : URL_STRING_MAKE(to->routeUrl.c_str()), m, sip->sip_request->rq_method_name,
      nullptr, TAG_IF(m == sip_method_invite, SIPTAG_CONTACT(nta_agent_contact(agent_))),
      TAG_IF(sip->sip_event, SIPTAG_EVENT(sip->sip_event)),
      TAG_IF(sip->sip_subscription_state, SIPTAG_SUBSCRIPTION_STATE(sip->sip_subscription_state)),
      TAG_IF(type, SIPTAG_CONTENT_TYPE_STR(type)), TAG_IF(!body.empty(), SIPTAG_PAYLOAD_STR(body.c_str())),
      SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_END());
  if (!r->orq) return 500;
  r->irq = irq;
  relays_[r->orq] = std::move(r);
  return 0;  // answered when the other side answers
}

int CallLegs::onRelayResponse(Relay& r, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = nta_outgoing_status(orq);
  if (status < 200) return 0;
  Leg* to = find(r.to);
  if (status < 300 && r.method == sip_method_invite && to && to->dialog && sip) {
    sendAck(to->dialog, to->routeUrl, sip);
    nta_leg_client_reroute(to->dialog, nullptr, sip->sip_contact, 0);  // target refresh, §12.2.1.2
  }
  if (r.irq && sip) {
    const std::string body = sip->sip_payload ? std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len) : "";
    const char* type = sip->sip_content_type ? sip->sip_content_type->c_type : nullptr;
    const char* phrase = sip->sip_status ? sip->sip_status->st_phrase : nullptr;
    nta_incoming_treply(
        r.irq, status, phrase,
        TAG_IF(r.method == sip_method_invite && status < 300, SIPTAG_CONTACT(nta_agent_contact(agent_))),
        TAG_IF(type, SIPTAG_CONTENT_TYPE_STR(type)), TAG_IF(!body.empty(), SIPTAG_PAYLOAD_STR(body.c_str())),
        SIPTAG_SERVER_STR(server_.c_str()), TAG_END());
  } else if (r.irq) {
    nta_incoming_treply(r.irq, status, nullptr, TAG_END());
  }
  if (r.irq) {
    nta_incoming_destroy(r.irq);
    r.irq = nullptr;
  }
  // RFC 3261 §12.2.1.2: 481 or 408 to a request in a dialog ends it, and so does
  // no response at all. nta reports a timeout as its own 408 and a transport
  // failure (the phone's port closed: ICMP unreachable) as its own 503
  // (§8.1.3.1); that 503 is no answer from the far end, while a 503 the far
  // end sent only refuses this one request. The leg has vanished, and core
  // ends the call.
  const bool unanswered = nta_sip_is_internal(sip) && (status == 408 || status == 503);
  if ((status == 481 || status == 408 || unanswered) && to) {
    // A peer that merely lost our request (a one-way path, a stalled phone)
    // still has its side of the call up: a BYE, which nta sends and forgets,
    // tells it the call is over. After a 481 the dialog is gone there, and
    // after a transport failure nothing can reach it.
    if (status == 408) sendBye(*to);
    report(core::LegEnded{to->id, status});
    retire(to->id);
  }
  auto it = relays_.find(orq);
  if (it != relays_.end()) {
    relayGraveyard_.push_back(std::move(it->second));
    relays_.erase(it);
  }
  return 0;
}

}  // namespace sb::sip

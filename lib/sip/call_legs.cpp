// CallLegs' life and core's actions on legs: the leg table, the batching of
// facts (enter/leave), retiring legs through the graveyards, orphaned forks
// (RFC 3261 §9.1: kept for 64*T1 after their CANCEL), and the actions that need
// no new transaction of their own (provisional, answer, reject, CANCEL, BYE,
// bridge). Inbound INVITEs, outbound forks and in-dialog relaying live in
// call_legs_{inbound,outbound,relay}.cpp; the trampolines in call_legs_sofia.cpp.
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
#include "media/engine.hpp"
#include "sip/call_legs_parts.hpp"
#include "sip/sdp_edit.hpp"

namespace sb::sip {

// ---- life --------------------------------------------------------------------------

CallLegs::CallLegs(su_root_t* root, nta_agent_t* agent, const config::Config& config, metrics::Metrics& metrics,
                   ContactLookup contacts, std::string serverHeader)
    : root_(root), agent_(agent), metrics_(metrics), contacts_(std::move(contacts)), server_(std::move(serverHeader)) {
  applyConfig(config);
  t1x64Ms_ = config.sip.testT1x64Ms;  // what nta_agent_create got (sip_server.cpp); not reloadable
  sweeper_.reset(su_timer_create(su_root_task(root_), 1000));
  if (sweeper_) su_timer_set_for_ever(sweeper_.get(), &CallLegs::onSweep, this);
}

CallLegs::~CallLegs() {
  sweeper_.reset();
  relays_.clear();
  legs_.clear();
  orphans_.clear();
  closings_.clear();
  reap();
}

void CallLegs::applyConfig(const config::Config& config) {
  domain_ = config.sip.domain;
  trunks_ = config.trunks;
  timerPolicy_ = {config.calls.sessionExpires, config.calls.minSE};
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
  if (media_) media_->close(id);
  // Its INVITE is remembered past the leg: a retransmission of it arriving
  // later is no new call (knownInvite).
  if (const std::string& key = it->second->inviteKey; !key.empty()) {
    auto known = invites_.find(key);
    if (known != invites_.end()) known->second = monotonicNow().ms + t1x64Ms_;
  }
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
  closingGraveyard_.clear();
  for (nta_outgoing_t* orq : orqGraveyard_) nta_outgoing_destroy(orq);
  orqGraveyard_.clear();
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
  for (auto it = closings_.begin(); it != closings_.end();) {
    if (now - it->second->startedAtMs >= kOrphanMs) {
      closingGraveyard_.push_back(std::move(it->second));
      it = closings_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = invites_.begin(); it != invites_.end();) {
    if (it->second != 0 && it->second <= now)
      it = invites_.erase(it);
    else
      ++it;
  }
}

TrunkAuth CallLegs::authFor(const std::string& trunk) const {
  if (trunk.empty()) return {};
  for (const auto& t : trunks_)
    if (t.name == trunk) return TrunkAuth::forTrunk(t);
  return {};
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
          else if constexpr (std::is_same_v<A, core::AnswerRemotely>)
            answerRemotely(a);
          else if constexpr (std::is_same_v<A, core::SendDigits>)
            sendDigits(a);
          else if constexpr (std::is_same_v<A, core::HoldLeg>)
            holdLeg(a);
          else if constexpr (std::is_same_v<A, core::ReofferLeg>)
            reofferLeg(a);
          else if constexpr (std::is_same_v<A, core::NotifyRefer>)
            notifyRefer(a);
          else if constexpr (std::is_same_v<A, core::MuteLeg>)
            muteLeg(a);
          else if constexpr (std::is_same_v<A, core::PlayToLeg>)
            playToLeg(a);
          else if constexpr (std::is_same_v<A, core::RecordLeg>)
            recordLeg(a);
          else if constexpr (std::is_same_v<A, core::MixLeg>)
            mixLeg(a);
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
  if (a.answerHere) {
    earlyAnswer(*l);  // call_legs_media.cpp
    return;
  }
  const Leg* with = a.with ? find(a.with) : nullptr;
  // An answer like the 200's (RFC 3261 §13.2.1: the first SDP the customer
  // gets is the answer): in the law the customer offered (relayedSdp).
  const std::string sdp = with && !with->earlySdp.empty() ? relayedSdp(*l, with->earlySdp, l->sdp) : std::string();
  if (media_ && with && !sdp.empty()) media_->pair(l->id, with->id);  // the far end's ringback or announcement
  nta_incoming_treply(l->irq, a.code, nullptr, SIPTAG_CONTACT(nta_agent_contact(agent_)),
                      SIPTAG_SERVER_STR(server_.c_str()), TAG_IF(!sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                      TAG_IF(!sdp.empty(), SIPTAG_PAYLOAD_STR(sdp.c_str())), TAG_END());
}

void CallLegs::answer(const core::AnswerLeg& a) {
  Leg* in = find(a.leg);
  Leg* out = find(a.with);
  if (!in || !in->inbound || in->state != Leg::State::early || !in->irq) return;
  // RFC 3261 §13.2.1: an answer we gave in a 183 is the answer, repeated in the 200.
  const bool own = !in->ownAnswer.empty();
  // The other leg may have answered in the G.711 law the customer did not
  // offer (ring() offered both): the customer's answer names its own law
  // (relayedSdp; an offerless INVITE gets the agent's offer, both laws).
  const std::string sdp = own ? in->ownAnswer : out ? relayedSdp(*in, out->sdp, in->sdp) : std::string();
  const std::string type = out && !own ? out->contentType : std::string("application/sdp");
  const std::string lines = withReplaces(uasTimerLines(*in), in->trunk.empty());  // RFC 4028 §9, RFC 3891 §6.1
  nta_incoming_treply(in->irq, SIP_200_OK, SIPTAG_CONTACT(nta_agent_contact(agent_)), SIPTAG_ALLOW_STR(kAllow),
                      SIPTAG_SERVER_STR(server_.c_str()), TAG_IF(!lines.empty(), SIPTAG_HEADER_STR(lines.c_str())),
                      TAG_IF(!sdp.empty(), SIPTAG_CONTENT_TYPE_STR(type.c_str())),
                      TAG_IF(!sdp.empty(), SIPTAG_PAYLOAD_STR(sdp.c_str())), TAG_END());
  in->state = Leg::State::answered;
  // RFC 3261 §13.3.1.4: the ACK is waited for 64*T1 from now, by our clock
  // (nta's Timer H is not to be trusted, see LegAckWait).
  in->ackWait.answeredAtMs = monotonicNow().ms;
  answered(*in, sdp);
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
      // RFC 3261 §13.2.2.4: a re-INVITE of ours still without its final
      // answer needs its 2xx ACKed; the BYE waits for it (byeIfIdle).
      if (inviteInFlight(*l)) {
        l->byeWhenIdle = true;
        return;
      }
      sendBye(*l);
      retire(a.leg);
      return;
  }
}

bool CallLegs::inviteInFlight(const Leg& leg) const {
  return leg.hold.orq || (leg.session.refresh && leg.session.refreshIsInvite) || relayedInvite(leg.id, false);
}

// A re-INVITE relayed into `leg` (or, with `eitherWay`, out of it too) still
// waiting for its final answer (RFC 3261 §14.1: one INVITE at a time).
bool CallLegs::relayedInvite(core::LegId leg, bool eitherWay) const {
  for (const auto& [orq, r] : relays_)
    if (r->method == sip_method_invite && (r->to == leg || (eitherWay && r->from == leg))) return true;
  return false;
}

void CallLegs::byeIfIdle(Leg& leg) {
  if (!leg.byeWhenIdle || inviteInFlight(leg) || find(leg.id) != &leg) return;
  sendBye(leg);
  retire(leg.id);
}

void CallLegs::bridge(const core::BridgeLegs& a) {
  Leg* x = find(a.a);
  Leg* y = find(a.b);
  if (x) x->peer = a.b;
  if (y) y->peer = a.a;
  if (x) x->hold.answeredHere = media_ && a.ownHold == a.a;
  if (y) y->hold.answeredHere = media_ && a.ownHold == a.b;
  if (media_ && x && y) media_->pair(a.a, a.b);
}

void CallLegs::sendBye(Leg& leg) {
  if (!leg.dialog) return;
  // An agent's 2xx still waiting for the customer's answer is ACKed first, as
  // it is: a BYE before the ACK would leave the phone retransmitting its 2xx.
  sendPendingAck(leg, {}, {});
  if (TrunkAuth auth = authFor(leg.trunk); auth.hasCredentials()) {
    // A trunk that may challenge the BYE: the dialog outlives the leg until
    // the BYE is answered (see Closing). The leg is retired right after this.
    auto c = std::make_unique<Closing>();
    c->owner = this;
    c->dialog = std::exchange(leg.dialog, nullptr);
    c->routeUrl = leg.routeUrl;
    c->auth = std::move(auth);
    c->startedAtMs = monotonicNow().ms;
    nta_leg_bind(c->dialog, &LegCallbacks::closingRequest, reinterpret_cast<nta_leg_magic_t*>(c.get()));
    if (sendBye(*c, {})) {
      Closing* key = c.get();
      closings_[key] = std::move(c);
    } else {
      closingGraveyard_.push_back(std::move(c));
    }
    return;
  }
  nta_outgoing_t* bye = nta_outgoing_tcreate(
      leg.dialog, nullptr, nullptr, leg.routeUrl.empty() ? nullptr : URL_STRING_MAKE(leg.routeUrl.c_str()),
      SIP_METHOD_BYE, nullptr, SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_END());
  if (bye) nta_outgoing_destroy(bye);  // nta completes the transaction on its own
}

bool CallLegs::sendBye(Closing& c, const std::string& authLines) {
  if (c.orq) orqGraveyard_.push_back(std::exchange(c.orq, nullptr));
  c.orq = nta_outgoing_tcreate(
      c.dialog, &LegCallbacks::closingResponse, reinterpret_cast<nta_outgoing_magic_t*>(&c),
      c.routeUrl.empty() ? nullptr : URL_STRING_MAKE(c.routeUrl.c_str()), SIP_METHOD_BYE, nullptr,
      SIPTAG_USER_AGENT_STR(server_.c_str()), TAG_IF(!authLines.empty(), SIPTAG_HEADER_STR(authLines.c_str())),
      TAG_END());
  return c.orq != nullptr;
}

int CallLegs::onClosingResponse(Closing& c, nta_outgoing_t* orq, const sip_t* sip) {
  const int status = nta_outgoing_status(orq);
  if (status < 200 || orq != c.orq) return 0;
  // RFC 3261 §22.2: a challenged BYE goes again in the same dialog (CSeq one
  // higher) with the trunk's credentials, once per realm.
  if (isChallenge(status, sip)) {
    if (auto lines = c.auth.answer(sip, "BYE", requestUriOf(orq)); lines && sendBye(c, *lines)) return 0;
    SB_WARN("calls", "the trunk refused our credentials for a BYE (%d)", status);
  }
  auto it = closings_.find(&c);
  if (it != closings_.end()) {
    closingGraveyard_.push_back(std::move(it->second));
    closings_.erase(it);
  }
  return 0;
}
}  // namespace sb::sip

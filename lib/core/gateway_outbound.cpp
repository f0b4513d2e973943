// Calls the agents place: a desk phone dialling a number (docs/CORE.md,
// "Outbound calls"). The toll-fraud guard decides first (dial plan, limits,
// emergency numbers); then the customer is rung through the first trunk that
// carries the number, the next one taking over when a trunk is down or fails
// (408, 5xx); the answer bridges the two legs. The life cycle is the SDK's:
// callOuted -> calloutAccepted -> sessionEnded.
#include <algorithm>
#include <chrono>
#include <utility>

#include "config/dial_pattern.hpp"
#include "core/gateway.hpp"

namespace sb::core {
namespace {

constexpr Duration kRateWindow = std::chrono::seconds(60);


// What a trunk's failure tells the next trunk: RFC 3261 §21.5 (5xx) and our own
// 408 (Timer B) are about the trunk, not the number; a 4xx or 6xx is the
// customer's network answering for the number, and another trunk would hear
// the same.
bool trunkFault(int code) { return code == 408 || (code >= 500 && code < 600); }

// Strings of the agent's skill groups, highest priority first.
std::vector<const config::SkillGroup*> groupsOf(const Directory& dir, const config::Agent* a) {
  std::vector<std::pair<int, const config::SkillGroup*>> ranked;
  if (a)
    for (const auto& ref : a->skillGroups)
      if (const config::SkillGroup* g = dir.findSkillGroup(ref.id)) ranked.emplace_back(ref.priority, g);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<const config::SkillGroup*> out;
  for (const auto& [p, g] : ranked) out.push_back(g);
  return out;
}

// The numbers an agent may dial: their own patterns when set (an empty list
// dials nothing), else every pattern of their skill groups. A phone bound to
// no agent dials emergency numbers only.
std::vector<std::string> allowance(const Directory& dir, const config::Agent* a) {
  if (!a) return {};
  if (a->dialPatterns) return *a->dialPatterns;
  std::vector<std::string> all;
  for (const config::SkillGroup* g : groupsOf(dir, a)) all.insert(all.end(), g->dialPatterns.begin(), g->dialPatterns.end());
  return all;
}

}  // namespace

// The one table from a customer leg's final SIP answer to the record's end
// state (RFC 3261 §21; the ISUP causes behind them as RFC 3398 §8.2.6.1 maps them).
EndState endStateForSip(int code) {
  switch (code) {
    case 404:  // Not Found: unallocated number (cause 1)
    case 484:  // Address Incomplete (cause 28)
    case 604:  // Does Not Exist Anywhere
      return EndState::numberNotExist;
    case 410:  // Gone: number changed (cause 22)
    case 502:  // Bad Gateway: destination out of order (cause 27)
      return EndState::notInService;
    case 486:  // Busy Here (cause 17)
    case 600:  // Busy Everywhere
      return EndState::busy;
    case 603:  // Decline: call rejected (cause 21)
      return EndState::userReject;
    case 408:  // no user responding (cause 18)
    case 480:  // no answer from user, user alerted (cause 19)
    case 487:  // our CANCEL after the ring bound
      return EndState::notAnswer;
    default: return EndState::error;
  }
}

Event Gateway::refusedEvent(const std::string& extensionId, const config::Agent* agent, const std::string& dialled,
                            const std::string& reason) const {
  Event e;
  e.name = std::string(event::calloutRefused);
  if (agent) e.userId = agent->userId;
  e.data = {{"extensionId", extensionId}, {"calleePhoneNumber", dialled}, {"reason", reason}};
  return e;
}

// The toll-fraud guard (docs/CONFIG.md, "Dial plan"), for every call an agent
// places: what `dialled` is, whether the caller may dial it, through which
// trunks, and whether `limitKey` (the phone's extension, or the agent) is
// within its limits; a call that passes is counted for the per-minute limit.
// An extension's number comes back as `internal`, for the caller to decide.
Gateway::DialCheck Gateway::checkDial(const std::string& limitKey, const config::Agent* agentCfg,
                                      const std::string& dialled, TimePoint now) {
  DialCheck c;
  const config::Outbound& rules = directory_.outbound;
  const auto refuse = [&c](int code, const char* phrase, const char* reason) {
    c.code = code;
    c.phrase = phrase;
    c.reason = reason;
    return c;
  };
  const std::optional<std::string> number = config::normalizeDialled(dialled);
  // RFC 3261 §21.4.22: not something a trunk could dial.
  if (!number) return refuse(484, "Address Incomplete", "invalidNumber");
  c.number = *number;
  c.emergency = rules.isEmergency(*number);
  if (!c.emergency && directory_.findExtension(*number)) {
    c.internal = true;
    return c;
  }
  // Every check below is skipped for an emergency number: it must go out even
  // from a phone over its limits or with no dial plan at all.
  if (!c.emergency && !config::dialAllowed(allowance(directory_, agentCfg), *number, rules.restrictedPrefixes))
    return refuse(403, "Number Not Allowed", "numberNotAllowed");
  // The trunks that carry it, in configuration order, those known down left out.
  bool carried = false;
  for (const auto& t : directory_.trunkConfigs) {
    if (!c.emergency && !config::dialAllowed(t.dialPatterns, *number, rules.restrictedPrefixes)) continue;
    carried = true;
    auto known = trunkUp_.find(t.name);
    if (known == trunkUp_.end() || known->second) c.trunks.push_back(t.name);
  }
  if (!carried) return refuse(403, "No Route For Number", "noRoute");
  // RFC 3261 §21.5.4: every trunk that could take it is down now.
  if (c.trunks.empty()) return refuse(503, "No Trunk Available", "trunksDown");
  if (!c.emergency) {
    if (rules.maxConcurrentPerExtension > 0 &&
        outboundLive_[limitKey] >= static_cast<size_t>(rules.maxConcurrentPerExtension))
      return refuse(403, "Too Many Calls", "concurrentLimit");
    auto& recent = outboundRecent_[limitKey];
    while (!recent.empty() && now - recent.front() >= kRateWindow) recent.pop_front();
    if (rules.maxPerMinutePerExtension > 0 && recent.size() >= static_cast<size_t>(rules.maxPerMinutePerExtension))
      return refuse(403, "Call Rate Exceeded", "rateLimit");
    recent.push_back(now);
  }
  return c;
}

InboundDecision Gateway::onDeskPhoneCall(const InboundCall& in, TimePoint now) {
  InboundDecision d;
  d.leg = nextLegId_++;
  const config::Agent* agentCfg = directory_.agentForExtension(in.extension);
  DialCheck check = checkDial(in.extension, agentCfg, in.number, now);
  // Another desk phone's extension: an internal call, which costs nothing and
  // leaves the building through no trunk, so no dial plan or limit applies.
  if (check.internal) return internalCall(in, check.number, agentCfg, now, std::move(d));
  if (!check.reason.empty()) {
    d.outputs.push(RejectLeg{d.leg, check.code, check.phrase});
    d.outputs.push(refusedEvent(in.extension, agentCfg, in.number, check.reason));
    return d;
  }
  const std::string number = check.number;
  const bool emergency = check.emergency;
  const std::vector<std::string> trunks = std::move(check.trunks);
  const std::vector<const config::SkillGroup*> groups = groupsOf(directory_, agentCfg);
  SessionSpec spec;
  spec.type = SessionType::phone;
  spec.direction = Direction::outbound;
  spec.serverType = ServerType::staffExtensionSeat;
  spec.calleePhoneNumber = number;
  spec.callerPhoneNumber = callerNumberFor(groups, trunks.front(), in.extension, emergency);
  spec.skillGroupId = groups.empty() ? std::string() : groups.front()->id;
  spec.userId = agentCfg ? agentCfg->userId : std::string();
  spec.trunk = trunks.front();
  Session& s = sessions_.create(spec, wallMs(now));
  Call& call = placeCall(s, d.leg, in.extension, in.extension, ServerType::staffExtensionSeat, now, d.outputs);
  call.trunksLeft.assign(trunks.begin() + 1, trunks.end());
  armLifeTimer(call, now, d.outputs);
  call.ringTimer = startCallTimer(call.sessionId, now + outboundRingBound(), d.outputs);
  dialCustomer(call, trunks.front(), d.outputs);
  d.outputs.push(sessionEvent(event::callOuted, call.agentUserId,
                              {{"sessionId", call.sessionId},
                               {"callerPhoneNumber", spec.callerPhoneNumber},
                               {"calleePhoneNumber", spec.calleePhoneNumber},
                               {"serverType", toString(ServerType::staffExtensionSeat)},
                               {"tabUUID", ""}}));
  return d;
}

// An extension dialling another: the called phone is rung with the caller's
// offer (every registered contact), its agent gets callIn {type internal,
// peerUserId}, and both agents are busy while it lasts (docs/CORE.md,
// "Internal calls"). The ring bound is outbound.ringTimeout.
InboundDecision Gateway::internalCall(const InboundCall& in, const std::string& callee, const config::Agent* caller,
                                      TimePoint now, InboundDecision d) {
  if (callee == in.extension) {
    // RFC 3261 §21.4.24: the line is busy with this very call.
    d.outputs.push(RejectLeg{d.leg, 486, "Calling Yourself"});
    return d;
  }
  const config::Agent* peer = directory_.agentForExtension(callee);
  SessionSpec spec;
  spec.type = SessionType::internal;
  spec.direction = Direction::outbound;
  spec.serverType = ServerType::staffExtensionSeat;
  spec.callerPhoneNumber = in.extension;
  spec.calleePhoneNumber = callee;
  spec.userId = caller ? caller->userId : std::string();
  spec.peerUserId = peer ? peer->userId : std::string();
  Session& s = sessions_.create(spec, wallMs(now));
  Call& call = placeCall(s, d.leg, in.extension, in.extension, ServerType::staffExtensionSeat, now, d.outputs);
  call.internal = true;
  call.peerExtension = callee;
  Agent* callee_ = peer ? agent(peer->userId) : nullptr;
  if (callee_ && callee_->status() == AgentStatus::busy) {
    // The called agent is on another call: busy here, as a phone would say.
    d.outputs.push(RejectLeg{d.leg, 486, "Busy Here"});
    endCall(call, CloseBy::admin, EndState::busy, now, d.outputs);
    return d;
  }
  seizeForCall(call.peerUserId, call, now, d.outputs);
  armLifeTimer(call, now, d.outputs);
  call.ringTimer = startCallTimer(call.sessionId, now + outboundRingBound(), d.outputs);
  call.customerLeg = nextLegId_++;
  legCalls_[call.customerLeg] = call.sessionId;
  d.outputs.push(ringLeg(call.customerLeg, call.agentLeg, DeskPhoneTarget{callee}, call.sessionId, in.extension, callee));
  if (!call.peerUserId.empty()) d.outputs.push(internalCallIn(call));
  return d;
}

// callIn {type internal} for the called agent: who calls, and for how long it rings.
Event Gateway::internalCallIn(const Call& call) const {
  return sessionEvent(event::callIn, call.peerUserId,
                      {{"sessionId", call.sessionId},
                       {"type", "internal"},
                       {"timeout", std::chrono::duration_cast<std::chrono::seconds>(outboundRingBound()).count()},
                       {"peerUserId", call.agentUserId}});
}

// dtmf {sessionId, digit, flow} for the agent of a bridged call (flow as the
// SDK's asr event names directions: IN the customer's side).
Event Gateway::dtmfEvent(const Call& call, char digit, bool fromCustomer) const {
  return sessionEvent(event::dtmf, call.agentUserId,
                      {{"sessionId", call.sessionId}, {"digit", std::string(1, digit)}, {"flow", fromCustomer ? "IN" : "OUT"}});
}

// A call an agent places, filed under its session `s`: the agent's leg (a
// desk phone's INVITE, or the leg a third-party call rings first), the line it
// keeps busy, whose limits it counts against, and the agent seized.
Call& Gateway::placeCall(const Session& s, LegId agentLeg, const std::string& limitKey, const std::string& extensionId,
                         ServerType device, TimePoint now, Outputs& out) {
  Call& call = calls_[s.sessionId];
  call.sessionId = s.sessionId;
  call.skillGroupId = s.spec.skillGroupId;
  call.outbound = true;
  call.extensionId = extensionId;
  call.limitKey = limitKey;
  call.agentLeg = agentLeg;
  call.agentUserId = s.spec.userId;
  call.peerUserId = s.spec.peerUserId;
  call.offerDevice = device;
  call.queuedAt = now;
  legCalls_[agentLeg] = s.sessionId;
  ++outboundLive_[limitKey];
  seizeForCall(call.agentUserId, call, now, out);
  return call;
}

// A signed-in agent is busy for the call; one signed out may still use the
// phone (their status is left alone, the session is theirs all the same).
void Gateway::seizeForCall(const std::string& userId, Call& call, TimePoint now, Outputs& out) {
  Agent* a = userId.empty() ? nullptr : agent(userId);
  if (!a) return;
  Agent::Effects fx = a->seize(call.sessionId, now);
  if (!fx.ok()) return;
  applyTimers(*a, fx, out);
  if (fx.statusChanged) out.push(statusEvent(*a));
}

// The caller number a trunk gets: on an emergency call the phone's location
// number where configured (the emergency service calls back and locates by
// it); otherwise the agent's highest-priority skill group's first callerNumber,
// else the trunk's first (config validation makes sure a trunk carrying
// outbound calls has one).
std::string Gateway::callerNumberFor(const std::vector<const config::SkillGroup*>& groups, const std::string& trunk,
                                     const std::string& extensionId, bool emergency) const {
  if (emergency)
    if (const config::Extension* e = directory_.findExtension(extensionId); e && !e->locationNumber.empty())
      return e->locationNumber;
  for (const config::SkillGroup* g : groups)
    if (!g->callerNumbers.empty()) return g->callerNumbers.front();
  const config::Trunk* t = directory_.findTrunk(trunk);
  return t && !t->callerNumbers.empty() ? t->callerNumbers.front() : extensionId;
}

void Gateway::dialCustomer(Call& call, const std::string& trunk, Outputs& out) {
  Session* s = sessions_.find(call.sessionId);
  if (!s) return;
  const config::Trunk* t = directory_.findTrunk(trunk);
  call.customerLeg = nextLegId_++;
  call.trunk = trunk;
  s->spec.trunk = trunk;
  legCalls_[call.customerLeg] = call.sessionId;
  RingLeg ring = ringLeg(call.customerLeg, call.agentLeg, TrunkTarget{trunk, s->spec.calleePhoneNumber},
                         call.sessionId, s->spec.callerPhoneNumber, s->spec.calleePhoneNumber);
  ring.assertedIdentity = t && t->assertedIdentity;
  ring.privacy = t && t->privacy == "id";
  ring.uui = call.uui;
  out.push(std::move(ring));
}

// A fact about a leg of a call an agent placed.
void Gateway::onOutboundFact(Call& call, const LegFact& fact, TimePoint now, Outputs& out) {
  std::visit(
      [&](const auto& f) {
        using F = std::decay_t<decltype(f)>;
        const bool isCustomer = f.leg == call.customerLeg;
        const bool bridged = call.phase == Call::Phase::bridged;
        if constexpr (std::is_same_v<F, LegRinging>) {
          if (!isCustomer || bridged) return;
          // The phone hears what the customer's network plays: 180, or 183 with
          // its early media (RFC 3261 §13.3.1.1). A third-party call's agent
          // leg is answered and parked already: nothing to tell it.
          if (!call.thirdParty) out.push(SendProvisional{call.agentLeg, f.code, f.earlyMedia ? call.customerLeg : 0});
          if (Session* s = sessions_.find(call.sessionId); s && s->state == SessionState::offering)
            transitionSession(*s, SessionState::ringing, wallMs(now));
        } else if constexpr (std::is_same_v<F, LegAnswered>) {
          if (call.thirdParty && f.leg == call.agentLeg && call.customerLeg == 0) {
            // A dual call: a mobile's voicemail answers too, and dialling the
            // customer to it would waste the customer's call. The customer is
            // dialled on the agent's key (docs/CORE.md, "Calls").
            if (!awaitMobileKey(call, now, out)) agentAnswered(call, now, out);
            return;
          }
          if (!isCustomer || bridged) return;
          cancelTimer(call.ringTimer, out);
          call.phase = Call::Phase::bridged;
          call.answeredAt = now;
          // The customer's answer to the agent: in the phone's 200 (it dialled),
          // or in a re-INVITE of the parked leg (third-party call control).
          if (call.thirdParty)
            out.push(ReofferLeg{call.agentLeg, call.customerLeg});
          else
            out.push(AnswerLeg{call.agentLeg, call.customerLeg});
          out.push(BridgeLegs{call.agentLeg, call.customerLeg, ownHold(call, call.agentLeg)});
          recordOnAnswer(call, out);
          if (Session* s = sessions_.find(call.sessionId)) transitionSession(*s, SessionState::active, wallMs(now));
          extensions_.callStarted(call.extensionId);
          if (call.internal) {
            // The called agent lifted the handset, as an inbound offer is answered.
            extensions_.callStarted(call.peerExtension);
            if (!call.peerUserId.empty())
              out.push(sessionEvent(event::userAccessed, call.peerUserId, {{"sessionId", call.sessionId}, {"tabUUID", ""}}));
          } else {
            out.push(sessionEvent(event::calloutAccepted, call.agentUserId, {{"sessionId", call.sessionId}}));
          }
        } else if constexpr (std::is_same_v<F, LegFailed>) {
          if (call.thirdParty && f.leg == call.agentLeg && !bridged) {
            // The agent's device did not take the call: nobody to dial for.
            out.push(CancelLeg{call.customerLeg});
            endCall(call, CloseBy::seat, EndState::seatGiveUp, now, out);
            return;
          }
          if (!isCustomer || bridged) return;
          if (trunkFault(f.code) && !call.trunksLeft.empty()) {
            // Failover: the same call through the next trunk that carries it.
            legCalls_.erase(call.customerLeg);
            const std::string next = call.trunksLeft.front();
            call.trunksLeft.erase(call.trunksLeft.begin());
            // A caller number that was the failed trunk's own becomes the next
            // trunk's: each trunk presents the numbers it owns.
            const config::Trunk* was = directory_.findTrunk(call.trunk);
            const config::Trunk* now_ = directory_.findTrunk(next);
            Session* s = sessions_.find(call.sessionId);
            if (s && was && now_ && !was->callerNumbers.empty() && !now_->callerNumbers.empty() &&
                s->spec.callerPhoneNumber == was->callerNumbers.front())
              s->spec.callerPhoneNumber = now_->callerNumbers.front();
            dialCustomer(call, next, out);
            return;
          }
          // The phone hears the customer's answer; a trunk's unanswerable
          // challenge is our problem, not the phone's credentials (503).
          const int code = (f.code == 401 || f.code == 407 || f.code < 300) ? 503 : f.code;
          releaseAgentLeg(call, code, out);
          endCall(call, call.internal ? CloseBy::seat : CloseBy::client, endStateForSip(f.code), now,
                  out);
        } else if constexpr (std::is_same_v<F, LegCancelled>) {
          // The agent gave up before the customer answered (the phone's CANCEL).
          if (isCustomer || bridged) return;
          out.push(CancelLeg{call.customerLeg});
          endCall(call, CloseBy::seat, EndState::callerCancel, now, out);
        } else if constexpr (std::is_same_v<F, LegEnded>) {
          if (!bridged) {
            // The phone's dialog died before the answer (it cannot BYE before
            // our 2xx): cancel the customer too.
            out.push(CancelLeg{call.customerLeg});
            endCall(call, CloseBy::seat, EndState::callerCancel, now, out);
            return;
          }
          out.push(HangUpLeg{isCustomer ? call.agentLeg : call.customerLeg});
          // Between two agents whoever hangs up is a seat.
          const bool byCustomer = isCustomer && !call.internal;
          endCall(call, byCustomer ? CloseBy::client : CloseBy::seat, EndState::ok, now, out);
        } else if constexpr (std::is_same_v<F, LegDigit>) {
          if (call.confirming && f.leg == call.agentLeg) {
            mobileKeyed(call, out);
            return agentAnswered(call, now, out);
          }
          if (!bridged) return;
          out.push(dtmfEvent(call, f.digit, isCustomer));
        }
      },
      fact);
}

// The customer's phone rang for outbound.ringTimeout: nobody answers. (A
// third-party call's agent device that rang that long, or answered but gave
// no key within calls.mobileConfirmSeconds: seatGiveUp.)
void Gateway::outboundRingTimeout(Call& call, TimePoint now, Outputs& out) {
  const bool agentRang = call.thirdParty && call.customerLeg == 0;
  out.push(CancelLeg{call.customerLeg});
  // RFC 3261 §21.4.18: the customer is not answering.
  releaseAgentLeg(call, 480, out, "No Answer");
  endCall(call, CloseBy::timer, agentRang ? EndState::seatGiveUp : EndState::notAnswer, now, out);
}

// The agent's leg of a call still dialling: a desk phone's INVITE is answered
// `code`; a third-party call's leg (ours, rung or parked) is CANCELled or BYEd.
void Gateway::releaseAgentLeg(Call& call, int code, Outputs& out, const char* phrase) {
  if (call.thirdParty)
    out.push(HangUpLeg{call.agentLeg});
  else
    out.push(RejectLeg{call.agentLeg, code, phrase ? phrase : ""});
}

// Ends a call the agent placed that is still dialling: the customer's INVITE
// is CANCELled, the phone gets `code`.
void Gateway::abandonDialling(Call& call, int code, CloseBy closeBy, EndState state, TimePoint now, Outputs& out,
                              const std::string& reason) {
  out.push(CancelLeg{call.customerLeg});
  releaseAgentLeg(call, code, out);
  endCall(call, closeBy, state, now, out, reason);
}

}  // namespace sb::core

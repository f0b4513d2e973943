// Call.startOutboundCall: third-party call control (RFC 3725; the flow and why
// in docs/ARCHITECTURE.md, "Calls placed from the socket"). The agent's
// device is rung first with an INVITE that carries no offer (a desk phone, or
// the mobile through a trunk: the "dual call"); its 2xx brings the agent's
// offer, which the SIP layer answers at once with the streams parked; the
// customer is then dialled through a trunk with the agent's offer, and the
// customer's answer reaches the agent in a re-INVITE (ReofferLeg). The dial
// plan, the limits and the end states are those of a call dialled on the desk
// phone (gateway_outbound.cpp).
#include <algorithm>
#include <chrono>

#include "core/gateway.hpp"

namespace sb::core {
namespace {

// What a caller number may be: one the agent's skill groups or the route's
// trunks present (never a number of the CRM's choosing: that would let a
// stolen socket spoof any caller).
bool presentable(const Directory& dir, const config::Agent& a, const std::vector<std::string>& route,
                 const std::string& number) {
  for (const auto& ref : a.skillGroups)
    if (const config::SkillGroup* g = dir.findSkillGroup(ref.id))
      if (std::find(g->callerNumbers.begin(), g->callerNumbers.end(), number) != g->callerNumbers.end()) return true;
  for (const auto& name : route)
    if (const config::Trunk* t = dir.findTrunk(name))
      if (std::find(t->callerNumbers.begin(), t->callerNumbers.end(), number) != t->callerNumbers.end()) return true;
  return false;
}

// Whose outbound limits a call from the socket counts against: the agent's
// desk phone, as a call dialled on it does, else the agent.
std::string limitKeyOf(const config::Agent& a) { return a.extension.empty() ? "agent:" + a.userId : a.extension; }

// The desk-phone line a call on `device` keeps busy ("" for a mobile).
std::string deskLine(const config::Agent& a, ServerType device) {
  return device == ServerType::staffExtensionSeat ? a.extension : std::string();
}

}  // namespace

Outcome Gateway::callStartOutboundCall(const std::string& userId, const OutboundRequest& r, TimePoint now) {
  const config::Agent* cfg = directory_.findAgent(userId);
  Agent* a = agent(userId);
  if (!cfg || !a) return Outcome::failure(errc::agentNotFound, "no agent " + userId);
  if (a->status() == AgentStatus::offline) return Outcome::failure(errc::agentOffline, userId + " is signed out");
  if (a->status() == AgentStatus::busy)
    return Outcome::failure(errc::invalidTransition, userId + " is in a call: hang up or transfer it first");
  std::vector<const config::SkillGroup*> groups;
  if (!r.skillGroupId.empty()) {
    const bool holds = std::any_of(cfg->skillGroups.begin(), cfg->skillGroups.end(),
                                   [&](const config::SkillRef& s) { return s.id == r.skillGroupId; });
    const config::SkillGroup* g = directory_.findSkillGroup(r.skillGroupId);
    if (!holds || !g) return Outcome::failure(errc::invalidParams, "skillGroupId: " + userId + " is not in " + r.skillGroupId);
    groups.push_back(g);
  }
  for (const auto& ref : cfg->skillGroups)
    if (const config::SkillGroup* g = directory_.findSkillGroup(ref.id); g && g->id != r.skillGroupId) groups.push_back(g);
  if (r.uui.size() > kMaxUui)
    return Outcome::failure(errc::invalidParams, "uui: at most " + std::to_string(kMaxUui) + " characters");
  const std::optional<Pick> device = deviceFor(*cfg);
  if (!device)
    return Outcome::failure(errc::deviceUnavailable,
                            "no device to ring for " + userId + ": the desk phone is not registered and no mobile "
                            "may be used (useMobileAccept)");
  const std::string limitKey = limitKeyOf(*cfg);
  DialCheck check = checkDial(limitKey, cfg, r.phoneNumber, now);
  if (check.internal)
    return Outcome::failure(errc::invalidParams, "phoneNumber " + check.number + " is an extension: use Call.startInternalCall");
  if (!check.reason.empty()) {
    Outcome o = Outcome::failure(check.reason, "the dial plan refuses " + r.phoneNumber + " (" + check.reason + ")");
    o.outputs.push(refusedEvent(cfg->extension, cfg, r.phoneNumber, check.reason));
    return o;
  }
  std::string caller = r.callerPhoneNumber;
  if (!caller.empty() && !check.emergency && !presentable(directory_, *cfg, check.trunks, caller))
    return Outcome::failure(errc::invalidParams, "callerPhoneNumber: " + caller +
                                                     " is none of the agent's skill groups' or the trunks' callerNumbers");
  // Sorted: the requested skill group first, then by priority as a desk phone's call.
  if (caller.empty()) caller = callerNumberFor(groups, check.trunks.front(), cfg->extension, check.emergency);

  SessionSpec spec;
  spec.type = SessionType::phone;
  spec.direction = Direction::outbound;
  spec.serverType = device->device;
  spec.calleePhoneNumber = check.number;
  spec.callerPhoneNumber = caller;
  spec.skillGroupId = groups.empty() ? std::string() : groups.front()->id;
  spec.userId = userId;
  spec.uui = r.uui;
  spec.remark = r.phoneDesc;
  spec.trunk = check.trunks.front();
  Session& s = sessions_.create(spec, wallMs(now));
  Outcome o = Outcome::success({{"sessionId", s.sessionId},
                                {"calleeLocation", ""},
                                {"calleePhoneNumber", spec.calleePhoneNumber},
                                {"callerPhoneNumber", spec.callerPhoneNumber},
                                {"serverType", toString(spec.serverType)},
                                {"remark", spec.remark}});
  Call& call = placeCall(s, nextLegId_++, limitKey, deskLine(*cfg, device->device), device->device, now, o.outputs);
  call.thirdParty = true;
  call.uui = r.uui;
  call.trunksLeft = std::move(check.trunks);
  // The agent's phone shows the customer's number: the call it is about to place.
  ringAgentFirst(call, device->target, spec.calleePhoneNumber, now, o.outputs);
  return o;
}

// The first leg of a third-party call: the agent's device, rung without an
// offer, within the ring bound and the session's life bound.
void Gateway::ringAgentFirst(Call& call, const LegTarget& target, const std::string& shown, TimePoint now, Outputs& out) {
  armLifeTimer(call, now, out);
  call.ringTimer = startCallTimer(call.sessionId, now + outboundRingBound(), out);
  RingLeg ring = ringLeg(call.agentLeg, 0, target, call.sessionId, shown, shown);
  ring.thirdParty = true;
  out.push(std::move(ring));
}

// The agent's device answered (its 2xx offer is answered and parked by the SIP
// layer): now the customer is dialled, with a fresh ring bound.
void Gateway::agentAnswered(Call& call, TimePoint now, Outputs& out) {
  cancelTimer(call.ringTimer, out);
  call.ringTimer = startCallTimer(call.sessionId, now + outboundRingBound(), out);
  if (call.internal) {
    // Call.startInternalCall: the callee's device now, with the caller's offer.
    call.customerLeg = nextLegId_++;
    legCalls_[call.customerLeg] = call.sessionId;
    Session* s = sessions_.find(call.sessionId);
    out.push(ringLeg(call.customerLeg, call.agentLeg, *call.peerTarget, call.sessionId,
                     s ? s->spec.callerPhoneNumber : "", s ? s->spec.calleePhoneNumber : ""));
    if (s) transitionSession(*s, SessionState::ringing, wallMs(now));
    out.push(internalCallIn(call));
    return;
  }
  const std::string trunk = call.trunksLeft.front();
  call.trunksLeft.erase(call.trunksLeft.begin());
  dialCustomer(call, trunk, out);
  if (Session* s = sessions_.find(call.sessionId); s && s->state == SessionState::offering)
    transitionSession(*s, SessionState::ringing, wallMs(now));
  const Session* s = sessions_.find(call.sessionId);
  out.push(sessionEvent(event::callOuted, call.agentUserId,
                        {{"sessionId", call.sessionId},
                         {"callerPhoneNumber", s ? s->spec.callerPhoneNumber : ""},
                         {"calleePhoneNumber", s ? s->spec.calleePhoneNumber : ""},
                         {"serverType", toString(call.offerDevice)},
                         {"tabUUID", ""}}));
}

Outcome Gateway::callStartInternalCall(const std::string& userId, const std::string& calleeUserId, bool useMobile,
                                       TimePoint now) {
  const config::Agent* cfg = directory_.findAgent(userId);
  const config::Agent* peerCfg = directory_.findAgent(calleeUserId);
  Agent* a = agent(userId);
  Agent* peer = agent(calleeUserId);
  if (!cfg || !a) return Outcome::failure(errc::agentNotFound, "no agent " + userId);
  if (!peerCfg || !peer) return Outcome::failure(errc::agentNotFound, "calleeUserId: no agent " + calleeUserId);
  if (calleeUserId == userId) return Outcome::failure(errc::invalidParams, "calleeUserId: an agent cannot call themselves");
  if (a->status() == AgentStatus::offline) return Outcome::failure(errc::agentOffline, userId + " is signed out");
  if (peer->status() == AgentStatus::offline)
    return Outcome::failure(errc::agentOffline, "calleeUserId: " + calleeUserId + " is signed out");
  if (a->status() == AgentStatus::busy)
    return Outcome::failure(errc::invalidTransition, userId + " is in a call: hang up or transfer it first");
  if (peer->status() == AgentStatus::busy)
    return Outcome::failure(errc::invalidTransition, "calleeUserId: " + calleeUserId + " is in a call");
  const std::optional<Pick> device = deviceFor(*cfg);
  if (!device) return Outcome::failure(errc::deviceUnavailable, "no device to ring for " + userId);
  // The callee's device: their mobile when asked (through the first trunk not
  // known down), else their desk phone, whatever their useMobileAccept says.
  LegTarget peerTarget = DeskPhoneTarget{peerCfg->extension};
  ServerType peerDevice = ServerType::staffExtensionSeat;
  if (useMobile) {
    std::optional<Pick> mobile;
    if (!peerCfg->mobile.empty()) {
      config::Agent asMobile = *peerCfg;
      asMobile.useMobileAccept = 2;
      mobile = deviceFor(asMobile);
    }
    if (!mobile) return Outcome::failure(errc::deviceUnavailable, "calleeUserId: " + calleeUserId + " has no reachable mobile");
    peerTarget = mobile->target;
    peerDevice = ServerType::staffPhoneSeat;
  } else if (peerCfg->extension.empty()) {
    return Outcome::failure(errc::deviceUnavailable, "calleeUserId: " + calleeUserId + " has no desk phone (useMobile)");
  }
  SessionSpec spec;
  spec.type = SessionType::internal;
  spec.direction = Direction::outbound;
  spec.serverType = device->device;
  spec.callerPhoneNumber = cfg->extension;
  spec.calleePhoneNumber = peerDevice == ServerType::staffPhoneSeat ? peerCfg->mobile : peerCfg->extension;
  spec.userId = userId;
  spec.peerUserId = calleeUserId;
  Session& s = sessions_.create(spec, wallMs(now));
  Outcome o = Outcome::success({{"sessionId", s.sessionId}});
  Call& call = placeCall(s, nextLegId_++, limitKeyOf(*cfg), deskLine(*cfg, device->device), device->device, now,
                         o.outputs);
  call.thirdParty = true;
  call.internal = true;
  call.peerExtension = deskLine(*peerCfg, peerDevice);
  call.peerTarget = peerTarget;
  seizeForCall(calleeUserId, call, now, o.outputs);
  ringAgentFirst(call, device->target, spec.calleePhoneNumber, now, o.outputs);
  return o;
}

}  // namespace sb::core

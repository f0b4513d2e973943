// Call.transfer, blind (docs/CORE.md, "Transfer"): the customer of a bridged
// call moves to a skill group's queue, or to one agent. To a queue the first
// agent is let go at once (their leg BYEd, after-call work) and the customer
// waits in the dialog they are in, to be offered as any waiting call; the
// next agent's answer is re-offered to the customer (ReofferLeg). To an agent,
// the first agent stays on the line while the new one rings: their answer
// bridges them to the customer and releases the first agent; no answer leaves
// the call with the first agent, or, if they hung up meanwhile, puts the
// customer in the queue of the session's skill group. `transfer` is emitted
// when the transfer completed, and not before.
#include <chrono>

#include "core/gateway.hpp"

namespace sb::core {

Event Gateway::transferEvent(const Call& call, const std::string& to, const std::string& group) const {
  return sessionEvent(event::transfer, call.agentUserId,
                      {{"sessionId", call.sessionId}, {"skillGroupId", group}, {"userId", to}});
}

Outcome Gateway::callTransfer(const std::string& userId, const std::string& sessionId,
                              const std::string& transferUserId, const std::string& skillGroupId, TimePoint now) {
  if (transferUserId.empty() == skillGroupId.empty())
    return Outcome::failure(errc::invalidParams, "give transferUserId or skillGroupId, one of them");
  Call* found = agentsCall(userId, sessionId);
  if (!found) return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId + " of " + userId);
  Call& call = *found;
  if (call.phase != Call::Phase::bridged || call.agentUserId != userId || call.internal || call.thirdParty ||
      call.outbound)
    return Outcome::failure(errc::invalidTransition,
                            "session " + sessionId + " is not a customer's call answered by " + userId);
  if (call.transferLeg != 0)
    return Outcome::failure(errc::invalidTransition, "session " + sessionId + " is being transferred already");
  Outcome o = Outcome::success({{"sessionId", sessionId}});
  if (!skillGroupId.empty()) {
    const config::SkillGroup* group = directory_.findSkillGroup(skillGroupId);
    if (!group) return Outcome::failure(errc::invalidParams, "skillGroupId: no skill group " + skillGroupId);
    // Done at once: the customer is queued, the agent goes (RFC 3261 §15 BYE);
    // a supervisor listening in leaves with them.
    endMonitor(call, "transferred", false, now, o.outputs);
    o.outputs.push(HangUpLeg{call.agentLeg});
    o.outputs.push(transferEvent(call, "", group->id));
    const std::string first = call.agentUserId;
    const std::string firstGroup = call.skillGroupId;
    agentLine(first, call.offerDevice, false);
    legCalls_.erase(call.agentLeg);
    call.agentLeg = 0;
    call.agentUserId.clear();
    releaseInto(first, sessionId, wrapUpFor(first, firstGroup), now, o.outputs);
    requeue(call, *group, now, o.outputs);
    dispatch(now, o.outputs);
    return o;
  }
  if (transferUserId == userId) return Outcome::failure(errc::invalidParams, "transferUserId: the agent themselves");
  const config::Agent* cfg = directory_.findAgent(transferUserId);
  Agent* target = agent(transferUserId);
  if (!cfg || !target) return Outcome::failure(errc::agentNotFound, "transferUserId: no agent " + transferUserId);
  if (!target->offerable())
    return Outcome::failure(errc::invalidTransition, "transferUserId: " + transferUserId + " is not free");
  const std::optional<Pick> pick = deviceFor(*cfg);
  if (!pick) return Outcome::failure(errc::deviceUnavailable, "transferUserId: no device to ring for " + transferUserId);
  Session* s = sessions_.find(sessionId);
  if (!s) return Outcome::failure(errc::sessionNotFound, "no session " + sessionId);
  Agent::Effects fx = target->seize(sessionId, now);
  applyTimers(*target, fx, o.outputs);
  if (fx.statusChanged) o.outputs.push(statusEvent(*target));
  const config::SkillGroup* group = directory_.findSkillGroup(call.skillGroupId);
  const int ringSeconds = std::max(1, group ? group->ringTimeout : 20);
  call.transferLeg = nextLegId_++;
  call.transferTo = transferUserId;
  call.transferDevice = pick->device;
  legCalls_[call.transferLeg] = sessionId;
  s->offers.push_back({transferUserId, std::string(toString(pick->device)), wallMs(now), {}});
  o.outputs.push(ringLeg(call.transferLeg, call.customerLeg, pick->target, sessionId, s->spec.callerPhoneNumber,
                         s->spec.calleePhoneNumber));
  o.outputs.push(phoneCallIn(call, *s, transferUserId, ringSeconds, pick->device));
  call.transferTimer = startCallTimer(sessionId, now + std::chrono::seconds(ringSeconds), o.outputs);
  return o;
}

// The customer back in `group`'s queue, in the dialog they are in.
void Gateway::requeue(Call& call, const config::SkillGroup& group, TimePoint now, Outputs& out) {
  call.phase = Call::Phase::waiting;
  call.skillGroupId = group.id;
  call.queuedAt = now;
  call.declined.clear();
  if (Session* s = sessions_.find(call.sessionId)) {
    transitionSession(*s, SessionState::offering, wallMs(now));
    s->spec.skillGroupId = group.id;
  }
  cancelTimer(call.queueTimer, out);
  call.queueTimer = startCallTimer(call.sessionId, now + std::chrono::seconds(std::max(1, group.queueTimeout)), out);
  waiting_[group.id].push_back(call.sessionId);
}

// The transfer's ringing leg is over without an answer (`outcome` for the
// record), or withdrawn because the call ends.
void Gateway::abandonTransfer(Call& call, const std::string& outcome, bool legGone, TimePoint now, Outputs& out) {
  cancelTimer(call.transferTimer, out);
  if (!legGone) out.push(CancelLeg{call.transferLeg});
  legCalls_.erase(call.transferLeg);
  call.transferLeg = 0;
  const std::string to = std::exchange(call.transferTo, {});
  if (Session* s = sessions_.find(call.sessionId))
    if (!s->offers.empty() && s->offers.back().outcome.empty()) s->offers.back().outcome = outcome;
  releaseInto(to, call.sessionId, Duration::zero(), now, out);
  // A REFER's transfer that failed: the phone keeps its call (RFC 3515 §2.4.5).
  if (call.referLeg != 0 && call.referLeg == call.agentLeg && outcome != "withdrawn")
    out.push(NotifyRefer{call.referLeg, outcome == "missed" ? 480 : 486});
  call.referLeg = 0;
  if (outcome == "withdrawn" || call.agentLeg != 0) return;  // back with the first agent, still on the line
  call.offeredTo.clear();
  // The first agent hung up meanwhile: the customer waits in the session's queue.
  if (const config::SkillGroup* group = directory_.findSkillGroup(call.skillGroupId)) {
    requeue(call, *group, now, out);
    call.declined[to] = now;  // offered to them again only when nobody else is free, as any refusal
  } else {
    out.push(HangUpLeg{call.customerLeg});
    endCall(call, CloseBy::admin, EndState::unconnected, now, out, "transferFailed");
  }
}

// Facts while a transfer to an agent rings; true when handled here.
bool Gateway::onTransferFact(Call& call, const LegFact& fact, TimePoint now, Outputs& out) {
  return std::visit(
      [&](const auto& f) -> bool {
        using F = std::decay_t<decltype(f)>;
        if (f.leg == call.transferLeg) {
          if constexpr (std::is_same_v<F, LegAnswered>) {
            cancelTimer(call.transferTimer, out);
            const std::string first = call.agentUserId;
            const LegId firstLeg = call.agentLeg;
            // The new agent's SDP to the customer, then the first agent goes
            // (told first, if their phone's REFER asked: RFC 3515 §2.4.5).
            out.push(ReofferLeg{call.customerLeg, call.transferLeg});
            stopMusic(call, out);
            if (firstLeg != 0 && call.referLeg == firstLeg) out.push(NotifyRefer{firstLeg, 200});
            call.referLeg = 0;
            if (firstLeg != 0) out.push(HangUpLeg{firstLeg});
            out.push(BridgeLegs{call.customerLeg, call.transferLeg, ownHold(call, call.transferLeg)});
            if (firstLeg != 0) {
              out.push(transferEvent(call, call.transferTo, ""));
              legCalls_.erase(firstLeg);
              agentLine(first, call.offerDevice, false);
              releaseInto(first, call.sessionId, wrapUpFor(first, call.skillGroupId), now, out);
            }
            call.agentLeg = std::exchange(call.transferLeg, 0);
            call.micMuted = false;
            call.agentUserId = std::exchange(call.transferTo, {});
            call.offerDevice = call.transferDevice;
            call.phase = Call::Phase::bridged;
            if (Session* s = sessions_.find(call.sessionId)) {
              s->spec.userId = call.agentUserId;
              s->spec.serverType = call.offerDevice;
              if (!s->offers.empty()) s->offers.back().outcome = "answered";
            }
            agentLine(call.agentUserId, call.offerDevice, true);
            if (call.monitorAnswered) mixFor(call, out);  // a supervisor follows the call to the new agent
            out.push(sessionEvent(event::userAccessed, call.agentUserId, {{"sessionId", call.sessionId}, {"tabUUID", ""}}));
            if (firstLeg == 0) out.push(transferEvent(call, call.agentUserId, ""));
          } else if constexpr (std::is_same_v<F, LegFailed>) {
            abandonTransfer(call, isRefusal(f.code) ? "rejected" : "failed", true, now, out);
          } else if constexpr (std::is_same_v<F, LegEnded>) {
            abandonTransfer(call, "failed", true, now, out);
          }
          return true;
        }
        if constexpr (std::is_same_v<F, LegEnded>) {
          if (f.leg == call.agentLeg && call.agentLeg != 0) {
            // The first agent hangs up while the new one rings: the customer
            // stays for them (and goes to the queue if they do not answer).
            const std::string first = std::exchange(call.agentUserId, {});
            legCalls_.erase(call.agentLeg);
            call.agentLeg = 0;
            agentLine(first, call.offerDevice, false);
            releaseInto(first, call.sessionId, wrapUpFor(first, call.skillGroupId), now, out);
            // The customer now waits for the agent being rung (who hears of the end, if it comes).
            call.phase = Call::Phase::waiting;
            call.offeredTo = call.transferTo;
            return true;
          }
          if (f.leg == call.customerLeg) {
            // The customer left: the new agent's ringing is withdrawn by endCall.
            if (call.agentLeg != 0) out.push(HangUpLeg{call.agentLeg});
            endCall(call, CloseBy::client, call.agentLeg != 0 ? EndState::ok : EndState::ringingGiveUp, now, out);
            return true;
          }
        }
        return false;
      },
      fact);
}

// The desk phone's transfer key: a REFER to an extension (that agent) or to a
// configured number (its skill group's queue) is the same blind transfer as
// Call.transfer; anything else is refused in the REFER's NOTIFY.
void Gateway::onRefer(Call& call, const LegRefer& refer, TimePoint now, Outputs& out) {
  if (refer.attended) return attendedTransfer(call, refer, now, out);  // gateway_attended.cpp
  if (refer.leg != call.agentLeg || call.agentUserId.empty()) {
    out.push(NotifyRefer{refer.leg, 403});
    return;
  }
  std::string toAgent, toGroup;
  if (const config::Agent* a = directory_.agentForExtension(refer.target))
    toAgent = a->userId;
  else if (const config::Number* n = directory_.findNumber(refer.target))
    toGroup = n->skillGroup;
  if (toAgent.empty() && toGroup.empty()) {
    out.push(NotifyRefer{refer.leg, 404});  // RFC 3261 §21.4.5: no agent or queue by that name
    return;
  }
  Outcome o = callTransfer(call.agentUserId, call.sessionId, toAgent, toGroup, now);
  if (o.result.error) {
    out.push(NotifyRefer{refer.leg, o.result.error->code == errc::invalidTransition ? 486 : 480});
    return;
  }
  if (!toGroup.empty()) {
    out.push(NotifyRefer{refer.leg, 200});  // done: the customer is queued (the BYE follows in o.outputs)
    // The NOTIFY must precede the BYE the transfer sends the phone.
    out.append(std::move(o.outputs));
    return;
  }
  call.referLeg = refer.leg;
  out.append(std::move(o.outputs));
}

}  // namespace sb::core

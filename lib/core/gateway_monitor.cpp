// Supervisors (docs/CORE.md, "Supervisor"): Call.monitor rings a supervisor's
// device and mixes them into an answered session of a skill group they
// supervise (config: role supervisor, supervises); its mode says who hears
// them: nobody (listen), the agent (whisper) or both (barge), changed by
// calling Call.monitor again. Call.takeover puts them in the agent's place and
// releases the agent. Each mode is a few rows of the call's gain matrix
// (MixLeg), not a special case: the media engine mixes what a row names.
//
// The supervisor's leg is rung with the customer's offer, presented at the
// supervisor's own endpoint (anchored media), and never bridged to anyone
// until a takeover: its hanging up ends the monitoring only, never the call.
// While monitoring, the supervisor is busy (seized for the session, released
// without wrap-up), so routing does not offer them a customer meanwhile.
#include <chrono>

#include "core/gateway.hpp"

namespace sb::core {
namespace {

using Mode = Call::MonitorMode;

std::optional<Mode> modeOf(const std::string& name) {
  if (name.empty() || name == "listen") return Mode::listen;
  if (name == "whisper") return Mode::whisper;
  if (name == "barge") return Mode::barge;
  return std::nullopt;
}

const char* nameOf(Mode m) {
  switch (m) {
    case Mode::listen: return "listen";
    case Mode::whisper: return "whisper";
    case Mode::barge: break;
  }
  return "barge";
}

}  // namespace

// The answered session `sessionId` if `userId` supervises its skill group;
// otherwise the refusal.
Outcome Gateway::supervisedCall(const std::string& userId, const std::string& sessionId, Call*& call) {
  call = nullptr;
  const config::Agent* cfg = directory_.findAgent(userId);
  if (!cfg) return Outcome::failure(errc::agentNotFound, "no agent " + userId);
  if (!cfg->supervisor) return Outcome::failure(errc::notSupervisor, userId + " is not a supervisor (role: supervisor)");
  if (!directory_.mediaAnchored)
    return Outcome::failure(errc::mediaNotAnchored, "supervising needs the call's audio relayed by seatbridge");
  auto it = calls_.find(sessionId);
  if (it == calls_.end()) return Outcome::failure(errc::sessionNotFound, "no live session " + sessionId);
  Call& c = it->second;
  if (std::find(cfg->supervises.begin(), cfg->supervises.end(), c.skillGroupId) == cfg->supervises.end())
    return Outcome::failure(errc::notSupervisor,
                            userId + " does not supervise skill group " + c.skillGroupId + " of session " + sessionId);
  if (c.phase != Call::Phase::bridged || c.agentLeg == 0 || c.internal)
    return Outcome::failure(errc::invalidTransition, "session " + sessionId + " is not a customer's answered call");
  if (c.agentUserId == userId)
    return Outcome::failure(errc::invalidTransition, "session " + sessionId + " is " + userId + "'s own call");
  if (c.monitorLeg != 0 && c.monitorUserId != userId)
    return Outcome::failure(errc::invalidTransition,
                            "session " + sessionId + " is being supervised by " + c.monitorUserId + " already");
  // Listening, whispering and barging are mixes, and a takeover starts as a listen.
  if (c.undecodable)
    return Outcome::failure(errc::codecNotDecodable, "session " + sessionId +
                                                         "'s codec is not PCMU or PCMA: seatbridge relays it but "
                                                         "cannot decode it to mix");
  call = &c;
  return Outcome::success({{"sessionId", sessionId}});
}

Outcome Gateway::callMonitor(const std::string& userId, const std::string& sessionId, bool textOnly,
                             const std::string& modeName, TimePoint now) {
  const std::optional<Mode> mode = modeOf(modeName);
  if (!mode) return Outcome::failure(errc::invalidParams, "mode: '" + modeName + "' is not listen, whisper or barge");
  Call* call = nullptr;
  Outcome o = supervisedCall(userId, sessionId, call);
  if (!call) return o;
  if (textOnly)
    return Outcome::failure(errc::transcriptUnavailable,
                            "textOnly needs speech recognition, which this seatbridge does not have yet");
  o.result.data["mode"] = nameOf(*mode);
  if (call->monitorLeg != 0) {
    // Already theirs: a change of mode (before the answer, it applies then).
    if (call->monitorMode == *mode) return o;
    call->monitorMode = *mode;
    if (call->monitorAnswered) {
      mixFor(*call, o.outputs);
      monitorEvent(*call, event::monitorChanged, {{"mode", nameOf(*mode)}}, o.outputs);
    }
    return o;
  }
  const config::Agent* cfg = directory_.findAgent(userId);
  Outcome started = startMonitor(*call, *cfg, *mode, false, now);
  if (started.result.error) return started;
  o.outputs = std::move(started.outputs);
  return o;
}

Outcome Gateway::callTakeover(const std::string& userId, const std::string& sessionId, TimePoint now) {
  Call* call = nullptr;
  Outcome o = supervisedCall(userId, sessionId, call);
  if (!call) return o;
  if (call->transferLeg != 0)
    return Outcome::failure(errc::invalidTransition, "session " + sessionId + " is being transferred");
  if (call->monitorLeg != 0 && call->monitorAnswered) {
    takeOver(*call, now, o.outputs);
    return o;
  }
  if (call->monitorLeg != 0) {
    call->takeoverAsked = true;  // once their device answers
    return o;
  }
  const config::Agent* cfg = directory_.findAgent(userId);
  Outcome started = startMonitor(*call, *cfg, Mode::listen, true, now);
  if (started.result.error) return started;
  o.outputs = std::move(started.outputs);
  return o;
}

// The supervisor's device rung, with the customer's offer (their own endpoint
// at seatbridge), for as long as the skill group rings its agents.
Outcome Gateway::startMonitor(Call& call, const config::Agent& supervisor, Mode mode, bool takeover, TimePoint now) {
  Agent* a = agent(supervisor.userId);
  if (!a || a->status() == AgentStatus::offline)
    return Outcome::failure(errc::agentOffline, supervisor.userId + " is offline");
  const std::optional<Pick> pick = deviceFor(supervisor);
  if (!pick) return Outcome::failure(errc::deviceUnavailable, "no device to ring for " + supervisor.userId);
  const Session* s = sessions_.find(call.sessionId);
  if (!s) return Outcome::failure(errc::sessionNotFound, "no session " + call.sessionId);
  Outcome o = Outcome::success({});
  const Agent::Effects fx = a->seize(call.sessionId, now);
  if (!fx.ok()) return Outcome{Result{nlohmann::json::object(), fx.error}, {}};
  applyTimers(*a, fx, o.outputs);
  if (fx.statusChanged) o.outputs.push(statusEvent(*a));
  call.monitorLeg = nextLegId_++;
  call.monitorUserId = supervisor.userId;
  call.monitorDevice = pick->device;
  call.monitorMode = mode;
  call.monitorAnswered = false;
  call.takeoverAsked = takeover;
  legCalls_[call.monitorLeg] = call.sessionId;
  o.outputs.push(ringLeg(call.monitorLeg, call.customerLeg, pick->target, call.sessionId, s->spec.callerPhoneNumber,
                         s->spec.calleePhoneNumber));
  const config::SkillGroup* group = directory_.findSkillGroup(call.skillGroupId);
  call.monitorTimer =
      startCallTimer(call.sessionId, now + std::chrono::seconds(std::max(1, group ? group->ringTimeout : 20)), o.outputs);
  return o;
}

// Facts of the supervisor's leg.
void Gateway::onMonitorFact(Call& call, const LegFact& fact, TimePoint now, Outputs& out) {
  std::visit(
      [&](const auto& f) {
        using F = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<F, LegAnswered>) {
          if (call.monitorAnswered) return;
          cancelTimer(call.monitorTimer, out);
          call.monitorAnswered = true;
          if (call.takeoverAsked) {
            takeOver(call, now, out);
            return;
          }
          mixFor(call, out);
          monitorEvent(call, event::monitorStarted, {{"mode", nameOf(call.monitorMode)}}, out);
        } else if constexpr (std::is_same_v<F, LegFailed>) {
          endMonitor(call, isRefusal(f.code) ? "rejected" : "failed", true, now, out);
        } else if constexpr (std::is_same_v<F, LegEnded> || std::is_same_v<F, LegCancelled>) {
          endMonitor(call, call.monitorAnswered ? "supervisorHungUp" : "failed", true, now, out);
        }
        // Keys, holds and the rest from the supervisor's phone change nothing.
      },
      fact);
}

// The call's gain matrix as rows for the engine: the supervisor hears both
// sides; the agent hears the supervisor too when whispered to or barged in
// on; the customer hears them only in barge. A row left empty is the plain
// relay between customer and agent.
void Gateway::mixFor(const Call& call, Outputs& out) const {
  const LegId c = call.customerLeg, a = call.agentLeg, s = call.monitorLeg;
  std::vector<MixSource> supervisorHears;
  for (LegId leg : {c, a})
    if (leg != 0) supervisorHears.push_back({leg, 1.0f});
  out.push(MixLeg{s, std::move(supervisorHears)});
  const bool agentHears = call.monitorMode != Mode::listen;
  const bool customerHears = call.monitorMode == Mode::barge;
  if (a != 0) out.push(MixLeg{a, agentHears ? std::vector<MixSource>{{c, 1.0f}, {s, 1.0f}} : std::vector<MixSource>{}});
  out.push(MixLeg{c, customerHears && a != 0 ? std::vector<MixSource>{{a, 1.0f}, {s, 1.0f}} : std::vector<MixSource>{}});
}

// Call.takeover: the supervisor's leg bridged to the customer in the agent's
// place; the agent's leg BYEd and the agent released into after-call work, as
// after a transfer. The supervisor is the session's agent from now on.
void Gateway::takeOver(Call& call, TimePoint now, Outputs& out) {
  const std::string first = call.agentUserId;
  const LegId firstLeg = call.agentLeg;
  const LegId supervisorLeg = call.monitorLeg;
  out.push(MixLeg{call.customerLeg, {}});
  out.push(MixLeg{supervisorLeg, {}});
  if (firstLeg != 0) {
    out.push(MixLeg{firstLeg, {}});
    out.push(HangUpLeg{firstLeg});
    legCalls_.erase(firstLeg);
    agentLine(first, call.offerDevice, false);
  }
  out.push(BridgeLegs{call.customerLeg, supervisorLeg, ownHold(call, supervisorLeg)});
  nlohmann::json data{{"sessionId", call.sessionId}, {"userId", call.monitorUserId}, {"previousUserId", first}};
  if (!first.empty()) out.push(sessionEvent(event::takenOver, first, data));
  out.push(sessionEvent(event::takenOver, call.monitorUserId, data));
  if (firstLeg != 0) releaseInto(first, call.sessionId, wrapUpFor(first, call.skillGroupId), now, out);
  call.agentLeg = std::exchange(call.monitorLeg, 0);
  call.agentUserId = std::exchange(call.monitorUserId, {});
  call.offerDevice = call.monitorDevice;
  call.micMuted = false;
  call.monitorAnswered = call.takeoverAsked = false;
  if (Session* s = sessions_.find(call.sessionId)) {
    s->spec.userId = call.agentUserId;
    s->spec.serverType = call.offerDevice;
  }
  agentLine(call.agentUserId, call.offerDevice, true);
}

// The monitoring is over (the supervisor hung up, their device did not
// answer, or the call ends): their leg goes, the others hear each other alone
// again, and the supervisor is free of the session.
void Gateway::endMonitor(Call& call, const std::string& reason, bool legGone, TimePoint now, Outputs& out) {
  if (call.monitorLeg == 0) return;
  cancelTimer(call.monitorTimer, out);
  if (!legGone) out.push(call.monitorAnswered ? Action{HangUpLeg{call.monitorLeg}} : Action{CancelLeg{call.monitorLeg}});
  if (call.monitorAnswered && reason != "sessionEnded") {
    if (call.agentLeg != 0) out.push(MixLeg{call.agentLeg, {}});
    out.push(MixLeg{call.customerLeg, {}});
  }
  monitorEvent(call, event::monitorEnded, {{"reason", reason}}, out);
  legCalls_.erase(call.monitorLeg);
  call.monitorLeg = 0;
  call.monitorAnswered = call.takeoverAsked = false;
  releaseInto(std::exchange(call.monitorUserId, {}), call.sessionId, Duration::zero(), now, out);
}

// One event for the supervisor and one for the agent supervised.
void Gateway::monitorEvent(const Call& call, std::string_view name, nlohmann::json data, Outputs& out) const {
  data["sessionId"] = call.sessionId;
  data["supervisorUserId"] = call.monitorUserId;
  data["userId"] = call.agentUserId;
  if (!call.agentUserId.empty()) out.push(sessionEvent(name, call.agentUserId, data));
  out.push(sessionEvent(name, call.monitorUserId, std::move(data)));
}

}  // namespace sb::core

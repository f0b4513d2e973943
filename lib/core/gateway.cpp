#include "core/gateway.hpp"

#include <algorithm>
#include <chrono>
#include <variant>

namespace sb::core {
namespace {

Outcome unknownAgent(const std::string& userId) { return Outcome::failure(errc::agentNotFound, "no agent " + userId); }

}  // namespace

Gateway::Gateway(Directory directory, RandomSource& random, TimePoint now, int64_t wallNowMs)
    : directory_(std::move(directory)), sessions_(random), extensions_(directory_), wallMinusMono_(wallNowMs - now.ms) {
  for (const auto& a : directory_.agents) agents_.emplace(a.userId, Agent(a.userId, now));
  indexAgents();
}

void Gateway::indexAgents() {
  groupAgents_.clear();
  for (const auto& cfg : directory_.agents)
    for (const auto& ref : cfg.skillGroups) groupAgents_[ref.id].emplace_back(&cfg, ref.priority);
}

Agent* Gateway::agent(const std::string& userId) {
  auto it = agents_.find(userId);
  return it == agents_.end() ? nullptr : &it->second;
}

const Agent* Gateway::findAgent(const std::string& userId) const {
  auto it = agents_.find(userId);
  return it == agents_.end() ? nullptr : &it->second;
}

// ---- facts and timers --------------------------------------------------------

// Registrar facts change no agent status: a desk phone going away does not sign
// its agent out (the agent may still take calls on the mobile).
// A phone that registers or answers again may be what a waiting customer needs.
Outputs Gateway::onFact(const ExtensionRegistered& fact, TimePoint now) {
  Outputs out = extensions_.apply(fact);
  dispatch(now, out);
  return out;
}
Outputs Gateway::onFact(const ExtensionUnregistered& fact, TimePoint) { return extensions_.apply(fact); }
Outputs Gateway::onFact(const ExtensionReachability& fact, TimePoint now) {
  Outputs out = extensions_.apply(fact);
  if (fact.reachable) dispatch(now, out);
  return out;
}
Outputs Gateway::onFact(const DeviceFact& fact, TimePoint now) {
  return std::visit([&](const auto& f) { return onFact(f, now); }, fact);
}

Outputs Gateway::onTimer(TimerId id, TimePoint now) {
  if (callTimers_.count(id)) return onCallTimer(id, now);
  auto it = wrapUpTimers_.find(id);
  if (it == wrapUpTimers_.end()) return {};  // cancelled or already handled
  const std::string userId = it->second;
  wrapUpTimers_.erase(it);
  wrapUpTimerOf_.erase(userId);
  Agent* a = agent(userId);
  if (!a) return {};
  Agent::Effects fx = a->wrapUpDone(now);
  fx.cancelWrapUp = false;  // this timer is already gone
  Outputs out = finish(*a, fx, now).outputs;
  dispatch(now, out);
  return out;
}

Outputs Gateway::reconfigure(Directory next, TimePoint now) {
  Outputs out;
  for (auto it = agents_.begin(); it != agents_.end();) {
    if (next.findAgent(it->first)) {
      ++it;
      continue;
    }
    Agent& gone = it->second;
    Agent::Effects fx;
    fx.cancelWrapUp = true;
    applyTimers(gone, fx, out);
    if (gone.status() != AgentStatus::offline) {
      Event e;
      e.name = std::string(event::statusChanged);
      e.userId = gone.userId();
      e.data = {{"status", toString(AgentStatus::offline)}};
      out.push(std::move(e));
    }
    it = agents_.erase(it);
  }
  for (const auto& a : next.agents) agents_.try_emplace(a.userId, Agent(a.userId, now));
  directory_ = std::move(next);
  indexAgents();
  for (auto it = missedInARow_.begin(); it != missedInARow_.end();)
    it = agents_.count(it->first) ? std::next(it) : missedInARow_.erase(it);
  extensions_.reconfigure(directory_);
  dispatch(now, out);  // new agents or skills may serve a waiting customer
  return out;
}

// ---- effects to outputs ------------------------------------------------------

void Gateway::applyTimers(Agent& a, const Agent::Effects& fx, Outputs& out) {
  auto running = wrapUpTimerOf_.find(a.userId());
  if ((fx.cancelWrapUp || fx.startWrapUp) && running != wrapUpTimerOf_.end()) {
    out.push(TimerAction{TimerAction::Op::cancel, running->second, {}});
    wrapUpTimers_.erase(running->second);
    wrapUpTimerOf_.erase(running);
  }
  if (fx.startWrapUp && a.wrapUpDeadline()) {
    const TimerId id = nextTimerId_++;
    wrapUpTimerOf_[a.userId()] = id;
    wrapUpTimers_[id] = a.userId();
    out.push(TimerAction{TimerAction::Op::start, id, *a.wrapUpDeadline()});
  }
}

Event Gateway::statusEvent(const Agent& a) const {
  Event e;
  e.name = std::string(event::statusChanged);
  e.userId = a.userId();
  e.data = {{"status", toString(a.status())}};
  if (a.status() == AgentStatus::rest) e.data["restReason"] = a.current().restReason;
  return e;
}

// An agent who has just become free may take a waiting customer at once, so
// every status change ends with a dispatch.
Outcome Gateway::finish(Agent& a, const Agent::Effects& fx, TimePoint now) {
  if (fx.error) return Outcome{Result{nlohmann::json::object(), fx.error}, {}};
  Outcome o{Result::success(agentStatusJson(a, now)), {}};
  applyTimers(a, fx, o.outputs);
  if (fx.statusChanged) o.outputs.push(statusEvent(a));
  if (fx.statusChanged && a.status() == AgentStatus::free) dispatch(now, o.outputs);
  return o;
}

// ---- Agent.* -------------------------------------------------------------------

Outcome Gateway::agentOnline(const std::string& userId, TimePoint now) {
  Agent* a = agent(userId);
  if (!a) return unknownAgent(userId);
  missedInARow_.erase(userId);  // the agent is at the desk
  return finish(*a, a->online(now), now);
}

Outcome Gateway::agentOffline(const std::string& userId, TimePoint now) {
  Agent* a = agent(userId);
  if (!a) return unknownAgent(userId);
  return finish(*a, a->offline(now), now);
}

Outcome Gateway::agentSetStatus(const std::string& userId, const std::string& status, const std::string& restReason,
                                TimePoint now) {
  Agent* a = agent(userId);
  if (!a) return unknownAgent(userId);
  const auto requested = parseRequestedStatus(status);
  if (!requested) {
    return Outcome::failure(errc::invalidStatus,
                            "status '" + status + "' cannot be set: use free, rest, arrange, notReady or stopNotReady");
  }
  missedInARow_.erase(userId);  // the agent is at the desk
  return finish(*a, a->setStatus(*requested, restReason, now), now);
}

Outcome Gateway::agentGetStatus(const std::string& userId, TimePoint now) const {
  const Agent* a = findAgent(userId);
  if (!a) return unknownAgent(userId);
  return Outcome{Result::success(agentStatusJson(*a, now)), {}};
}

// ---- call hooks ------------------------------------------------------------------

Outcome Gateway::agentSeized(const std::string& userId, const std::string& sessionId, TimePoint now) {
  Agent* a = agent(userId);
  if (!a) return unknownAgent(userId);
  return finish(*a, a->seize(sessionId, now), now);
}

Outcome Gateway::agentReleased(const std::string& userId, const std::string& sessionId, const std::string& skillGroupId,
                               TimePoint now) {
  Agent* a = agent(userId);
  if (!a) return unknownAgent(userId);
  return finish(*a, a->release(sessionId, wrapUpFor(userId, skillGroupId), now), now);
}

// The session's skill group decides; a call without one (e.g. dialled from the
// desk phone) uses the agent's highest-priority group, so wrap-up is never skipped
// by accident.
Duration Gateway::wrapUpFor(const std::string& userId, const std::string& skillGroupId) const {
  const config::SkillGroup* group = directory_.findSkillGroup(skillGroupId);
  if (!group) {
    const config::Agent* cfg = directory_.findAgent(userId);
    const config::SkillRef* best = nullptr;
    if (cfg) {
      for (const auto& ref : cfg->skillGroups)
        if (!best || ref.priority < best->priority) best = &ref;
    }
    if (best) group = directory_.findSkillGroup(best->id);
  }
  if (!group) return Duration::zero();
  return std::chrono::seconds(std::max(0, group->afterCallWork));
}

// ---- Call.* ----------------------------------------------------------------------

Result Gateway::checkSession(const std::string& userId, const std::string& sessionId) const {
  const Session* s = sessions_.find(sessionId);
  if (!s || (!userId.empty() && s->spec.userId != userId && s->spec.peerUserId != userId))
    return Result::failure(errc::sessionNotFound, "no session " + sessionId);
  return Result::success({{"sessionId", sessionId}});
}

Outcome Gateway::callDeleteCall(const std::string& userId, const std::string& sessionId) {
  return Outcome{sessions_.remove(sessionId, userId), {}};
}

// ---- queries ---------------------------------------------------------------------

nlohmann::json Gateway::agentStatusJson(const Agent& a, TimePoint now) const {
  const config::Agent* cfg = directory_.findAgent(a.userId());
  nlohmann::json j{{"userId", a.userId()},
                   {"name", cfg ? cfg->name : std::string()},
                   {"extensionId", cfg ? cfg->extension : std::string()},
                   {"status", toString(a.status())},
                   {"statusDurationMs", (now - a.statusSince()).count()}};
  if (a.status() == AgentStatus::rest) j["restReason"] = a.current().restReason;
  if (a.pending()) {
    j["pendingStatus"] = toString(a.pending()->status);
    if (a.pending()->status == AgentStatus::rest) j["pendingRestReason"] = a.pending()->restReason;
  }
  if (a.wrapUpDeadline()) j["wrapUpRemainingMs"] = std::max<int64_t>(0, (*a.wrapUpDeadline() - now).count());
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& id : a.sessions()) sessions.push_back(id);
  j["sessions"] = std::move(sessions);
  return j;
}

nlohmann::json Gateway::listExtensions() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const ExtensionState* e : extensions_.list()) rows.push_back(e->toJson());
  return {{"extensions", std::move(rows)}};
}

nlohmann::json Gateway::listAgents(TimePoint now) const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& cfg : directory_.agents) {
    if (const Agent* a = findAgent(cfg.userId)) rows.push_back(agentStatusJson(*a, now));
  }
  return {{"agents", std::move(rows)}};
}

nlohmann::json Gateway::listSessions(const std::string& userId) const {
  nlohmann::json rows = nlohmann::json::array();
  for (const Session* s : sessions_.list(userId)) rows.push_back(s->toJson());
  return {{"sessions", std::move(rows)}};
}

std::map<AgentStatus, size_t> Gateway::agentsByStatus() const {
  std::map<AgentStatus, size_t> by;
  for (AgentStatus s : kAllAgentStatuses) by[s] = 0;
  for (const auto& [id, a] : agents_) ++by[a.status()];
  return by;
}

std::map<SessionType, size_t> Gateway::liveSessionsByType() const {
  std::map<SessionType, size_t> by;
  for (SessionType t : kAllSessionTypes) by[t] = sessions_.activeCount(t);
  return by;
}

Counts Gateway::counts() const {
  Counts c;
  c.agentsByStatus = agentsByStatus();
  c.sessionsActiveByType = liveSessionsByType();
  c.registeredExtensions = extensions_.registeredCount();
  c.extensions = extensions_.list().size();
  c.agents = agents_.size();
  c.sessions = sessions_.size();
  return c;
}

}  // namespace sb::core

#include "core/agent.hpp"

namespace sb::core {
namespace {

Agent::Effects failed(std::string_view code, std::string message) {
  Agent::Effects fx;
  fx.error = Error{std::string(code), std::move(message)};
  return fx;
}

StatusValue valueFor(RequestedStatus r, const std::string& restReason) {
  switch (r) {
    case RequestedStatus::free: return {AgentStatus::free, {}};
    case RequestedStatus::rest: return {AgentStatus::rest, restReason};
    case RequestedStatus::arrange: return {AgentStatus::arrange, {}};
    case RequestedStatus::notReady: return {AgentStatus::notReady, {}};
    case RequestedStatus::stopNotReady: break;  // handled by the caller
  }
  return {AgentStatus::free, {}};
}

}  // namespace

Agent::Effects Agent::moveTo(StatusValue next, TimePoint now) {
  Effects fx;
  // restReason only means something with rest; never carry a stale one.
  if (next.status != AgentStatus::rest) next.restReason.clear();
  if (next != current_) {
    current_ = std::move(next);
    since_ = now;
    fx.statusChanged = true;
  }
  return fx;
}

// Leaves a timed wrap-up (if any) for `next`, dropping whatever was pending: the
// agent's fresh request supersedes what they asked for during the call.
Agent::Effects Agent::endWrapUpInto(StatusValue next, TimePoint now) {
  const bool hadWrapUp = wrapUpDeadline_.has_value();
  wrapUpDeadline_.reset();
  pending_.reset();
  Effects fx = moveTo(std::move(next), now);
  fx.cancelWrapUp = hadWrapUp;
  return fx;
}

StatusValue Agent::afterCallStatus() const { return pending_ ? *pending_ : StatusValue{AgentStatus::free, {}}; }

Agent::Effects Agent::online(TimePoint now) {
  if (current_.status == AgentStatus::offline) {
    pending_.reset();
    return moveTo({AgentStatus::free, {}}, now);
  }
  // Already signed in: idempotent, but signing in again withdraws a sign-out
  // that was waiting for the call to end.
  if (pending_ && pending_->status == AgentStatus::offline) pending_.reset();
  return {};
}

Agent::Effects Agent::offline(TimePoint now) {
  switch (current_.status) {
    case AgentStatus::offline: return {};
    case AgentStatus::busy:
      // Never cut a customer off from the control socket: sign out after the call.
      pending_ = StatusValue{AgentStatus::offline, {}};
      return {};
    default: return endWrapUpInto({AgentStatus::offline, {}}, now);
  }
}

Agent::Effects Agent::setStatus(RequestedStatus requested, const std::string& restReason, TimePoint now) {
  if (current_.status == AgentStatus::offline) return failed(errc::agentOffline, "the agent is offline: Agent.online first");
  if (requested == RequestedStatus::stopNotReady) {
    const bool pendingNotReady = pending_ && pending_->status == AgentStatus::notReady;
    if (current_.status == AgentStatus::notReady) return moveTo({AgentStatus::free, {}}, now);
    if (current_.status == AgentStatus::busy && pendingNotReady) {
      pending_.reset();
      return {};
    }
    if (inWrapUp() && pendingNotReady) return endWrapUpInto({AgentStatus::free, {}}, now);
    return failed(errc::invalidTransition, "stopNotReady: the agent is not notReady");
  }
  StatusValue target = valueFor(requested, restReason);
  if (current_.status == AgentStatus::busy) {
    pending_ = std::move(target);  // last request wins; applied after the call
    return {};
  }
  return endWrapUpInto(std::move(target), now);
}

Agent::Effects Agent::seize(const std::string& sessionId, TimePoint now) {
  if (current_.status == AgentStatus::offline) return failed(errc::agentOffline, "the agent is offline");
  if (sessions_.count(sessionId)) return {};
  if (current_.status != AgentStatus::busy) {
    Effects cancel;
    if (inWrapUp()) {
      // A call during wrap-up ends it; what was pending from the last call stays.
      wrapUpDeadline_.reset();
      cancel.cancelWrapUp = true;
    } else if (current_.status != AgentStatus::free) {
      // The standing choice (notReady, rest, manual arrange) returns after the call.
      pending_ = current_;
    }
    sessions_.insert(sessionId);
    Effects fx = moveTo({AgentStatus::busy, {}}, now);
    fx.cancelWrapUp = cancel.cancelWrapUp;
    return fx;
  }
  sessions_.insert(sessionId);
  return {};
}

Agent::Effects Agent::release(const std::string& sessionId, Duration wrapUp, TimePoint now) {
  if (!sessions_.erase(sessionId)) return failed(errc::sessionNotFound, "the agent is not in session " + sessionId);
  if (!sessions_.empty()) return {};  // still busy with another session
  if (wrapUp > Duration::zero()) {
    Effects fx = moveTo({AgentStatus::arrange, {}}, now);
    wrapUpDeadline_ = now + wrapUp;
    fx.startWrapUp = true;
    return fx;
  }
  StatusValue next = afterCallStatus();
  pending_.reset();
  return moveTo(std::move(next), now);
}

Agent::Effects Agent::wrapUpDone(TimePoint now) {
  if (!inWrapUp()) return {};
  wrapUpDeadline_.reset();
  StatusValue next = afterCallStatus();
  pending_.reset();
  return moveTo(std::move(next), now);
}

}  // namespace sb::core

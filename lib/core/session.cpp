#include "core/session.hpp"

namespace sb::core {
namespace {

nlohmann::json optionalMs(const std::optional<int64_t>& ms) {
  return ms ? nlohmann::json(*ms) : nlohmann::json(nullptr);
}

}  // namespace

bool sessionTransitionAllowed(SessionState from, SessionState to) {
  using S = SessionState;
  switch (from) {
    case S::offering: return to == S::ringing || to == S::active || to == S::ended;
    // ringing -> offering: the offer timed out (autoTransfer) or was refused
    // (Call.end) and the session goes back to the queue for the next agent.
    case S::ringing: return to == S::active || to == S::offering || to == S::ended;
    case S::active: return to == S::held || to == S::ended;
    case S::held: return to == S::active || to == S::ended;
    case S::ended: return false;
  }
  return false;
}

Result transitionSession(Session& s, SessionState to, int64_t wallMs, const std::optional<SessionEnd>& end) {
  if (!sessionTransitionAllowed(s.state, to)) {
    return Result::failure(errc::invalidTransition, "session " + s.sessionId + " cannot go from " +
                                                        std::string(toString(s.state)) + " to " +
                                                        std::string(toString(to)));
  }
  if (to == SessionState::ended && !end) {
    return Result::failure(errc::invalidParams, "ending session " + s.sessionId + " needs closeBy and an end state");
  }
  s.state = to;
  if (to == SessionState::ringing && !s.ringingAtMs) s.ringingAtMs = wallMs;
  if (to == SessionState::active && !s.answeredAtMs) s.answeredAtMs = wallMs;
  if (to == SessionState::ended) {
    s.endedAtMs = wallMs;
    s.end = *end;
  }
  return Result::success({{"sessionId", s.sessionId}, {"state", toString(to)}});
}

nlohmann::json Session::toJson() const {
  nlohmann::json j{{"sessionId", sessionId},
                   {"type", toString(spec.type)},
                   {"serverType", toString(spec.serverType)},
                   {"direction", toString(spec.direction)},
                   {"state", toString(state)},
                   {"callerPhoneNumber", spec.callerPhoneNumber},
                   {"calleePhoneNumber", spec.calleePhoneNumber},
                   {"userId", spec.userId},
                   {"skillGroupId", spec.skillGroupId},
                   {"uui", spec.uui},
                   {"remark", spec.remark},
                   {"createdAt", createdAtMs},
                   {"ringingAt", optionalMs(ringingAtMs)},
                   {"answeredAt", optionalMs(answeredAtMs)},
                   {"endedAt", optionalMs(endedAtMs)}};
  if (spec.type == SessionType::internal) j["peerUserId"] = spec.peerUserId;
  if (end) {
    j["closeBy"] = toString(end->closeBy);
    j["endState"] = toString(end->endState);
    j["mainReason"] = end->mainReason;
    j["subReason"] = end->subReason;
  }
  return j;
}

}  // namespace sb::core

#include "core/session.hpp"

#include <cmath>

namespace sb::core {
namespace {

nlohmann::json optionalMs(const std::optional<int64_t>& ms) {
  return ms ? nlohmann::json(*ms) : nlohmann::json(nullptr);
}

// Rounded to what the measurement can tell: RTCP's jitter is in 1/8 ms
// units, its loss fraction in 1/256.
double rounded(double v, double perUnit) { return std::round(v * perUnit) / perUnit; }

nlohmann::json qualityJson(const CallQuality& q) {
  return {{"mos", rounded(q.mos, 100)},
          {"jitterMs", rounded(q.jitterMs, 10)},
          {"lossPercent", rounded(q.lossPercent, 100)},
          {"rttMs", q.rttMs ? nlohmann::json(rounded(*q.rttMs, 10)) : nlohmann::json(nullptr)}};
}

}  // namespace

bool sessionTransitionAllowed(SessionState from, SessionState to) {
  using S = SessionState;
  switch (from) {
    case S::offering: return to == S::ringing || to == S::active || to == S::ended;
    // ringing -> offering: the offer timed out (autoTransfer) or was refused
    // (Call.end) and the session goes back to the queue for the next agent.
    case S::ringing: return to == S::active || to == S::offering || to == S::ended;
    // active/held -> offering: a blind transfer put the customer back in a queue.
    case S::active: return to == S::held || to == S::offering || to == S::ended;
    case S::held: return to == S::active || to == S::offering || to == S::ended;
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
  if (!spec.trunk.empty()) j["trunk"] = spec.trunk;
  if (!recording.empty()) j["recording"] = recording;  // spec/interface.md: absent when none
  // spec/interface.md: quality per leg when media is anchored; a leg with
  // no measurement yet is absent.
  if (customerQuality || agentQuality) {
    nlohmann::json quality = nlohmann::json::object();
    if (customerQuality) quality["customer"] = qualityJson(*customerQuality);
    if (agentQuality) quality["agent"] = qualityJson(*agentQuality);
    j["quality"] = std::move(quality);
  }
  nlohmann::json offered = nlohmann::json::array();
  for (const auto& o : offers)
    offered.push_back({{"userId", o.userId}, {"serverType", o.serverType}, {"at", o.atMs}, {"outcome", o.outcome}});
  j["offers"] = std::move(offered);
  // Durations for the records (ms): waiting for an agent (arrival to answer, or
  // to the end when never answered), ringing (first offer to answer or end) and
  // talking (answer to end). Absent while they are still running.
  const std::optional<int64_t> stop = answeredAtMs ? answeredAtMs : endedAtMs;
  if (stop) j["waitMs"] = *stop - createdAtMs;
  if (ringingAtMs && stop) j["ringMs"] = *stop - *ringingAtMs;
  if (answeredAtMs && endedAtMs) j["talkMs"] = *endedAtMs - *answeredAtMs;
  // The same fields on every row, null while the session is live.
  j["closeBy"] = end ? nlohmann::json(toString(end->closeBy)) : nlohmann::json(nullptr);
  j["endState"] = end ? nlohmann::json(toString(end->endState)) : nlohmann::json(nullptr);
  j["mainReason"] = end ? nlohmann::json(end->mainReason) : nlohmann::json(nullptr);
  j["subReason"] = end ? nlohmann::json(end->subReason) : nlohmann::json(nullptr);
  return j;
}

}  // namespace sb::core

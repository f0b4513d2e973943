#include "core/session_table.hpp"

#include "common/ids.hpp"

#include <algorithm>
#include <array>

namespace sb::core {

std::string SessionTable::newId() {
  // 122 random bits make a collision practically impossible with a CSPRNG; the
  // loop only guards against a broken or deterministic source reusing ids.
  for (;;) {
    std::array<std::byte, 16> bytes{};
    random_.fill(bytes);
    std::string id = formatUuidV4(bytes);
    if (!sessions_.count(id)) return id;
  }
}

Session& SessionTable::create(const SessionSpec& spec, int64_t wallMs) {
  std::string id = newId();
  const uint64_t order = nextOrder_++;
  Session s;
  s.sessionId = id;
  s.spec = spec;
  s.createdAtMs = wallMs;
  byOrder_[order] = id;
  orderOf_[id] = order;
  ++live_[spec.type];
  return sessions_.emplace(id, std::move(s)).first->second;
}

Session* SessionTable::find(const std::string& sessionId) {
  auto it = sessions_.find(sessionId);
  return it == sessions_.end() ? nullptr : &it->second;
}

const Session* SessionTable::find(const std::string& sessionId) const {
  auto it = sessions_.find(sessionId);
  return it == sessions_.end() ? nullptr : &it->second;
}

Result SessionTable::transition(const std::string& sessionId, SessionState to, int64_t wallMs,
                                const std::optional<SessionEnd>& end) {
  Session* s = find(sessionId);
  if (!s) return Result::failure(errc::sessionNotFound, "no session " + sessionId);
  const bool wasLive = s->live();
  Result r = transitionSession(*s, to, wallMs, end);
  if (r.ok() && to == SessionState::ended) {
    if (wasLive) --live_[s->spec.type];
    retire(sessionId);
  }
  return r;
}

void SessionTable::retire(const std::string& sessionId) {
  endedFifo_.push_back(sessionId);
  while (endedFifo_.size() > maxEnded_) {
    const std::string oldest = endedFifo_.front();
    endedFifo_.pop_front();
    auto it = orderOf_.find(oldest);
    if (it != orderOf_.end()) byOrder_.erase(it->second);
    orderOf_.erase(oldest);
    sessions_.erase(oldest);
  }
}

namespace {
bool belongsTo(const Session& s, const std::string& userId) {
  return s.spec.userId == userId || (!s.spec.peerUserId.empty() && s.spec.peerUserId == userId);
}
}  // namespace

Result SessionTable::remove(const std::string& sessionId, const std::string& userId) {
  const Session* s = find(sessionId);
  // Someone else's session answers as unknown: ids must not be probed across agents.
  if (!s || (!userId.empty() && !belongsTo(*s, userId)))
    return Result::failure(errc::sessionNotFound, "no session " + sessionId);
  if (s->live()) return Result::failure(errc::sessionNotEnded, "session " + sessionId + " is still in progress");
  endedFifo_.erase(std::remove(endedFifo_.begin(), endedFifo_.end(), sessionId), endedFifo_.end());
  byOrder_.erase(orderOf_.at(sessionId));
  orderOf_.erase(sessionId);
  sessions_.erase(sessionId);
  return Result::success({{"sessionId", sessionId}});
}

std::vector<const Session*> SessionTable::list(const std::string& userId) const {
  std::vector<const Session*> out;
  for (const auto& [order, id] : byOrder_) {
    const Session& s = sessions_.at(id);
    if (userId.empty() || belongsTo(s, userId)) out.push_back(&s);
  }
  return out;
}

size_t SessionTable::activeCount(SessionType type) const {
  auto it = live_.find(type);
  return it == live_.end() ? 0 : it->second;
}

}  // namespace sb::core

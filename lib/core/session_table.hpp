#pragma once
// All sessions by id. Ids are RFC 9562 version-4 UUIDs made from the injected
// RandomSource (122 random bits: unguessable), re-drawn on the (theoretical)
// collision. Ended sessions stay listable for the agent until Call.deleteCall;
// at most `maxEnded` are kept, the oldest-ended dropped first, so a client that
// never deletes cannot grow the table without bound.
#include <cstddef>
#include <deque>
#include <span>
#include <map>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "core/random_source.hpp"
#include "core/session.hpp"

namespace sb::core {

class SessionTable {
 public:
  explicit SessionTable(RandomSource& random, size_t maxEnded = 1000) : random_(random), maxEnded_(maxEnded) {}

  // A new session in state offering; the returned reference lives until the
  // session is removed.
  Session& create(const SessionSpec& spec, int64_t wallMs);
  Session* find(const std::string& sessionId);
  const Session* find(const std::string& sessionId) const;
  // Moves a session to `to` (see transitionSession); ending one also queues it
  // for retention.
  Result transition(const std::string& sessionId, SessionState to, int64_t wallMs,
                    const std::optional<SessionEnd>& end = {});
  // Call.deleteCall: removes an ended session of `userId`. sessionNotFound when it
  // does not exist or is not that agent's; sessionNotEnded while it is live.
  Result remove(const std::string& sessionId, const std::string& userId);

  // In creation order; `userId` empty lists all.
  std::vector<const Session*> list(const std::string& userId = {}) const;
  size_t size() const { return sessions_.size(); }
  // Live sessions of a type. Kept as sessions are created and ended (the metrics
  // read it after every batch of actions; a scan of the table was the SIP
  // thread's hottest path under load).
  size_t activeCount(SessionType type) const;

 private:
  std::string newId();
  void retire(const std::string& sessionId);

  RandomSource& random_;
  size_t maxEnded_;
  uint64_t nextOrder_ = 0;
  std::map<std::string, Session> sessions_;
  std::map<uint64_t, std::string> byOrder_;   // creation order -> id
  std::map<std::string, uint64_t> orderOf_;   // id -> creation order
  std::deque<std::string> endedFifo_;         // ended ids, oldest first
  std::map<SessionType, size_t> live_;        // live sessions by type
};

// Ids are formatted by sb::formatUuidV4 (common/ids.hpp), from the injected source.
using sb::formatUuidV4;

}  // namespace sb::core

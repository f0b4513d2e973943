#pragma once
// The registrar's location table: extension -> bindings (RFC 3261 §10.3 steps 6-8).
// Pure: times are wall-clock milliseconds passed in, no Sofia types. Also holds the
// NAT keepalive state of each binding, and remembers which extensions changed so
// that the owner can persist them off the request path.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace sb::sip {

struct Binding {
  uint64_t id = 0;          // process-local handle, used to match keepalive answers
  std::string key;          // the contact URI in comparable form (§19.1.4)
  std::string uri;          // the contact URI as registered
  std::string source;       // "udp:203.0.113.5:5062": where the REGISTER came from (NAT, §18.2.1 received/rport)
  std::string userAgent;
  std::string callId;
  uint32_t cseq = 0;
  int64_t expiresAtMs = 0;
  int64_t updatedAtMs = 0;  // last add or refresh: maxContacts displaces the oldest
  // Keepalive state (not persisted: a restored binding starts reachable).
  bool reachable = true;
  bool awaiting = false;    // an OPTIONS is out and unanswered
  int missed = 0;
  int64_t nextProbeMs = 0;
};

// One Contact of a REGISTER, its expiry already decided by the registrar (§10.3 step 6).
struct ContactChange {
  std::string key;
  std::string uri;
  int64_t expiresSeconds = 0;  // 0 removes
};

struct BindingUpdate {
  std::string extension;
  bool wildcard = false;  // Contact: * with Expires: 0
  std::vector<ContactChange> contacts;
  std::string callId;
  uint32_t cseq = 0;
  std::string source;
  std::string userAgent;
};

struct UpdateResult {
  enum class Status { ok, outOfOrder, tooManyContacts } status = Status::ok;
  bool changed = false;        // something added, refreshed or removed
  bool hadBindings = false;    // before the update
  std::vector<Binding> displaced;  // pushed out by maxContacts
};

struct ReachabilityChange {
  std::string extension;
  std::string uri;
  bool reachable = false;
  bool anyReachable = false;
};

struct Probe {
  uint64_t id = 0;
  std::string extension;
  std::string uri;
  std::string source;
};

class BindingTable {
 public:
  // All or nothing (§10.3 step 7): on outOfOrder or tooManyContacts nothing changes.
  UpdateResult apply(const BindingUpdate& u, int64_t nowMs, size_t maxContacts);
  // Unexpired bindings of one extension (empty when none).
  std::vector<Binding> list(const std::string& extension, int64_t nowMs) const;
  // Drops every binding whose expiry has passed; returns the extensions left with none.
  std::vector<std::string> expire(int64_t nowMs);
  // Restores a persisted binding (start-up); expired ones are ignored.
  void restore(const std::string& extension, Binding b, int64_t nowMs, int64_t firstProbeMs);
  // Drops the bindings of extensions no longer configured; returns them.
  std::vector<std::string> retainOnly(const std::set<std::string>& extensions);

  // NAT keepalive: the bindings due a probe now. A binding still awaiting an
  // answer counts a miss; the miss that reaches `maxMisses` makes it unreachable.
  std::vector<Probe> dueProbes(int64_t nowMs, int64_t intervalMs, int maxMisses,
                               std::vector<ReachabilityChange>& changes);
  // Any answer to a probe: reachable again.
  std::optional<ReachabilityChange> answered(uint64_t id);

  size_t contactCount() const { return count_; }
  std::vector<std::string> extensions() const;
  // Extensions whose bindings changed since the last call.
  std::set<std::string> takeDirty();

 private:
  bool anyReachable(const std::vector<Binding>& v) const;
  void reindex(const std::string& extension, const std::vector<Binding>& before, const std::vector<Binding>& after);
  void setBindings(const std::string& extension, std::vector<Binding> next);

  std::unordered_map<std::string, std::vector<Binding>> byExtension_;
  std::unordered_map<uint64_t, std::string> byId_;  // binding id -> extension
  std::set<std::string> dirty_;
  size_t count_ = 0;
  uint64_t nextId_ = 1;
};

}  // namespace sb::sip

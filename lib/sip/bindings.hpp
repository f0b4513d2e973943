#pragma once
// The registrar's location table: extension -> bindings (RFC 3261 §10.3 steps 6-8).
// Pure: times are wall-clock milliseconds passed in, no Sofia types. Also holds the
// NAT keepalive state of each binding, and remembers which extensions changed so
// that the owner can persist them off the request path.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sb::sip {

// A binding as the table hands it out (list, displaced) and takes it in (restore);
// it stores each one more compactly (see BindingTable::Entry).
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

// The Call-ID of a keepalive ends in "<binding id>-<extension>" (the extension
// %-escaped where a Call-ID word may not hold its character, RFC 3261 §25.1), so
// that an answer names the few bindings to look among.
std::string keepaliveTag(uint64_t id, std::string_view extension);
// The extension and binding id of a tag made by keepaliveTag; nullopt for any other text.
std::optional<std::pair<std::string, uint64_t>> parseKeepaliveTag(std::string_view tag);

class BindingTable {
 public:
  BindingTable() = default;
  BindingTable(const BindingTable&) = delete;  // entries point into this table's User-Agents
  BindingTable& operator=(const BindingTable&) = delete;

  // All or nothing (§10.3 step 7): on outOfOrder or tooManyContacts nothing changes.
  UpdateResult apply(const BindingUpdate& u, int64_t nowMs, size_t maxContacts);
  // Unexpired bindings of one extension (empty when none).
  std::vector<Binding> list(const std::string& extension, int64_t nowMs) const;
  // Drops every binding whose expiry has passed; returns the extensions left with none.
  std::vector<std::string> expire(int64_t nowMs);
  // Restores a persisted binding (start-up); expired ones are ignored.
  void restore(const std::string& extension, const Binding& b, int64_t nowMs, int64_t firstProbeMs);
  // Drops the bindings of extensions no longer configured; returns them.
  std::vector<std::string> retainOnly(const std::set<std::string>& extensions);

  // NAT keepalive: the bindings due a probe now. A binding still awaiting an
  // answer counts a miss; the miss that reaches `maxMisses` (at most 255) makes
  // it unreachable.
  std::vector<Probe> dueProbes(int64_t nowMs, int64_t intervalMs, int maxMisses,
                               std::vector<ReachabilityChange>& changes);
  // Any answer to the probe of binding `id` of `extension`: reachable again.
  std::optional<ReachabilityChange> answered(const std::string& extension, uint64_t id);

  size_t contactCount() const { return count_; }
  std::vector<std::string> extensions() const;
  // Extensions whose bindings changed since the last call.
  std::set<std::string> takeDirty();

 private:
  // Most of the registrar's memory per contact is here (issue 3: at most 2 KiB
  // per contact): a binding is stored as an Entry, its strings packed in one
  // allocation and its User-Agent shared, and list() hands out plain Binding
  // copies. About 250 bytes per contact with its extension's map node, where
  // five std::strings, a 216-byte Binding and an id index took 630.
  //
  // The User-Agents, each text kept once with the number of entries holding it:
  // a site runs a handful of phone models. An unused one is dropped by expire().
  struct Hash {  // transparent; not std::hash<std::string>, so libstdc++ keeps no hash in each node
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Agents = std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>>;
  class AgentRef {  // a counted reference to one User-Agent of Agents (single-threaded)
   public:
    AgentRef() = default;
    explicit AgentRef(Agents::value_type* a) : a_(a) {
      if (a_) ++a_->second;
    }
    AgentRef(const AgentRef& o) : AgentRef(o.a_) {}
    AgentRef(AgentRef&& o) noexcept : a_(std::exchange(o.a_, nullptr)) {}
    AgentRef& operator=(AgentRef o) noexcept {
      std::swap(a_, o.a_);
      return *this;
    }
    ~AgentRef() {
      if (a_) --a_->second;
    }
    std::string_view text() const { return a_ ? std::string_view(a_->first) : std::string_view(); }

   private:
    Agents::value_type* a_ = nullptr;
  };
  // The contact URI, its key when that differs, the source and the Call-ID, in
  // one allocation (most keys equal their URI: §19.1.4 form of a plain URI).
  class Texts {
   public:
    Texts() = default;
    Texts(std::string_view key, std::string_view uri, std::string_view source, std::string_view callId);
    Texts(const Texts& o);
    // Leaves `o` empty with zero lengths, so no view of it can reach past a null block.
    Texts(Texts&& o) noexcept
        : chars_(std::move(o.chars_)),
          uriLen_(std::exchange(o.uriLen_, 0)),
          keyLen_(std::exchange(o.keyLen_, kSameAsUri)),
          sourceLen_(std::exchange(o.sourceLen_, 0)),
          callIdLen_(std::exchange(o.callIdLen_, 0)) {}
    Texts& operator=(Texts o) noexcept {
      std::swap(chars_, o.chars_);
      std::swap(uriLen_, o.uriLen_);
      std::swap(keyLen_, o.keyLen_);
      std::swap(sourceLen_, o.sourceLen_);
      std::swap(callIdLen_, o.callIdLen_);
      return *this;
    }
    std::string_view uri() const { return {chars_.get(), uriLen_}; }
    std::string_view key() const { return keyLen_ == kSameAsUri ? uri() : at(uriLen_, keyLen_); }
    std::string_view source() const { return at(uriLen_ + ownKeyLen(), sourceLen_); }
    std::string_view callId() const { return at(uriLen_ + ownKeyLen() + sourceLen_, callIdLen_); }

   private:
    static constexpr uint32_t kSameAsUri = UINT32_MAX;
    uint32_t ownKeyLen() const { return keyLen_ == kSameAsUri ? 0 : keyLen_; }
    size_t size() const { return size_t{uriLen_} + ownKeyLen() + sourceLen_ + callIdLen_; }
    std::string_view at(size_t offset, size_t n) const { return {chars_.get() + offset, n}; }
    std::unique_ptr<char[]> chars_;
    uint32_t uriLen_ = 0, keyLen_ = kSameAsUri, sourceLen_ = 0, callIdLen_ = 0;
  };
  struct Entry {
    uint64_t id = 0;
    int64_t expiresAtMs = 0;
    int64_t updatedAtMs = 0;
    int64_t nextProbeMs = 0;
    Texts texts;
    AgentRef userAgent;
    uint32_t cseq = 0;
    uint8_t missed = 0;
    bool reachable = true;
    bool awaiting = false;
  };
  static_assert(sizeof(Entry) <= 72, "72 bytes per binding is the registrar's memory budget (bench/register)");
  using Entries = std::vector<Entry>;

  static Binding toBinding(const Entry& e);
  static Entries unexpired(const Entries* v, int64_t nowMs);
  static bool anyReachable(const Entries& v);
  void refresh(Entry& b, const ContactChange& c, const BindingUpdate& u, int64_t nowMs);
  AgentRef agent(std::string_view userAgent);
  void setBindings(const std::string& extension, Entries next);

  Agents agents_;  // before byExtension_: outlives the entries that point into it
  std::unordered_map<std::string, Entries, Hash, std::equal_to<>> byExtension_;
  std::set<std::string> dirty_;
  size_t count_ = 0;
  uint64_t nextId_ = 1;
};

}  // namespace sb::sip

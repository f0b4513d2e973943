#pragma once
// Stateless digest nonces and bounded nonce-count tracking (RFC 7616 §3.3, §5.5).
//
// A nonce is hex(issuedMs:8 bytes big-endian | counter:4 | HMAC-SHA256(secret, those 12)[0..12)).
// The server keeps nothing per challenge: any nonce it issued verifies against the
// per-process secret, and its age says whether it is stale. Because the hex starts
// with the big-endian time, nonces sort by issue time as plain strings; the
// counter table below keeps the same order on the decoded (time, counter) pair.
#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

struct evp_mac_ctx_st;

namespace sb::sip {

class NonceService {
 public:
  using Secret = std::array<unsigned char, 32>;
  // A random secret per process: a restart invalidates outstanding nonces, and
  // phones simply get a fresh challenge (stale=true).
  explicit NonceService(int64_t lifetimeMs);
  NonceService(int64_t lifetimeMs, const Secret& secret);

  std::string issue(int64_t nowMs);
  enum class Verdict { valid, stale, forged };
  struct Check {
    Verdict verdict = Verdict::forged;
    int64_t issuedMs = 0;
  };
  Check check(std::string_view nonce, int64_t nowMs) const;
  int64_t lifetimeMs() const { return lifetimeMs_; }

 private:
  std::array<unsigned char, 12> mac(const unsigned char* payload, size_t n) const;
  void keyMac();
  struct MacFree {
    void operator()(evp_mac_ctx_st* c) const;
  };
  int64_t lifetimeMs_;
  Secret secret_{};
  uint32_t counter_ = 0;
  // HMAC-SHA256 keyed once with secret_: re-initialised per nonce without
  // fetching the algorithm again (HMAC() fetches and allocates on every call).
  std::unique_ptr<evp_mac_ctx_st, MacFree> mac_;
};

// The identity of a nonce NonceService issued: its 12-byte payload (issue time,
// counter). The MAC adds nothing once the nonce verified, and comparing these
// fields orders nonces exactly as their hex text sorts.
struct NonceId {
  uint64_t ms = 0;
  uint32_t counter = 0;
  auto operator<=>(const NonceId&) const = default;
};
// The id of a nonce in NonceService's format (48 lower-case hex digits); nullopt
// for anything else. It does not check the MAC: NonceService::check does.
std::optional<NonceId> parseNonceId(std::string_view nonce);

// Highest nonce-count seen per nonce, so a captured Authorization cannot be
// replayed (RFC 7616 §3.3: nc must increase), while a UDP retransmission of the
// very request that used the count (same fingerprint) is recognised and answered
// again, because this registrar keeps no server transaction (see
// docs/ARCHITECTURE.md and DESIGN.md).
//
// Tracked per extension, not globally: a shared table of N nonces lasts N/rate
// seconds under load (8192 entries were gone within a second at 10k REGISTER/s),
// less than the 64*T1 = 32 s a non-INVITE may be retransmitted (RFC 3261
// §17.1.2.2), so retransmissions were answered stale. Each extension keeps its
// own kSlots most recent nonces and its own eviction floor; other
// extensions cannot push its entries out. Only authenticated (hence configured)
// extensions reach use(), so the table is bounded by configured extensions ×
// slots.
//
// Memory: a nonce is kept as its NonceId, not its text, and an extension's
// first slot lives in its hash node, the other kSlots-1 and the floor in a block
// allocated only when a phone has a second nonce in play (a phone normally uses
// one nonce per refresh, and forgetBefore() drops it after the nonce lifetime).
// About 90 bytes per extension with one nonce, 190 with several.
//
// A nonce not in the extension's slots and at or below its floor was evicted (or
// is older than one that was) and is reported `untracked`: the caller answers
// stale=true, so eviction costs a phone one extra round trip and never opens a
// replay window. A phone only loses recognition of a retransmission if it uses
// kSlots newer nonces while that request is still being retransmitted.
class NonceCounter {
 public:
  // Phones use one nonce per registration refresh (or a few, after a restart
  // or a stale answer); four covers those while a retransmission is in flight.
  static constexpr size_t kSlots = 4;

  enum class Verdict { fresh, retransmission, replay, untracked };
  // `user` is the authenticated extension: call only after the digest response
  // matched a configured extension, so unknown names never get an entry, and only
  // for a nonce NonceService::check() found valid: the MAC is not checked again
  // (of the texts with one NonceId, only one verifies). A nonce not in
  // NonceService's format is never tracked, hence never accepted.
  Verdict use(std::string_view user, std::string_view nonce, uint32_t nc, uint64_t fingerprint);
  // Forgets nonces issued before `cutoffMs`, and extensions left with none. The
  // caller must refuse such nonces as stale itself (NonceService::check does),
  // since a forgotten nonce is no longer known to have been used.
  void forgetBefore(int64_t cutoffMs);
  // Drops extensions no longer configured. Their highest tracked nonce becomes a
  // floor for any extension that starts afresh, so one removed and re-added
  // within the nonce lifetime cannot have an old Authorization replayed.
  void retainOnly(const std::set<std::string>& users);
  size_t size() const;  // nonces tracked, over all extensions
  size_t users() const { return users_.size(); }

 private:
  struct Slot {  // NonceId unpacked, so that no padding sits inside
    uint64_t ms = 0;
    uint64_t fingerprint = 0;
    uint32_t counter = 0;
    uint32_t maxNc = 0;
    NonceId id() const { return {ms, counter}; }
  };
  // The rest of a phone's slots, once it has more than one nonce in play.
  struct More {
    std::array<Slot, kSlots - 1> slots{};  // the first `used` are live
    uint8_t used = 0;
    bool hasFloor = false;
    uint32_t floorCounter = 0;  // the floor: highest nonce evicted from the slots
    uint64_t floorMs = 0;
    NonceId floor() const { return {floorMs, floorCounter}; }
  };
  // Every User has at least one live slot: use() adds one to a new User before
  // returning, and forgetBefore() erases a User whose last slot goes.
  struct User {
    Slot first;
    std::unique_ptr<More> more;
    size_t count() const { return 1 + (more ? more->used : 0); }
    Slot& at(size_t i) { return i == 0 ? first : more->slots[i - 1]; }
    const Slot& at(size_t i) const { return i == 0 ? first : more->slots[i - 1]; }
    void removeAt(size_t i);  // not the last slot: the User must keep one
  };
  // A transparent hash that is not std::hash<std::string>: libstdc++ then
  // stores no hash code in each node (8 bytes per extension); extension names
  // are short, so hashing again on rehash is cheap.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, User, Hash, std::equal_to<>> users_;
  std::optional<NonceId> droppedFloor_;  // highest nonce of extensions dropped by retainOnly()
};
// nc is exactly 8 hex digits (RFC 7616 §3.4).
std::optional<uint32_t> parseNonceCount(std::string_view nc);

}  // namespace sb::sip

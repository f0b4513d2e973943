#pragma once
// Stateless digest nonces and bounded nonce-count tracking (RFC 7616 §3.3, §5.5).
//
// A nonce is hex(issuedMs:8 bytes big-endian | counter:4 | HMAC-SHA256(secret, those 12)[0..12)).
// The server keeps nothing per challenge: any nonce it issued verifies against the
// per-process secret, and its age says whether it is stale. Because the hex starts
// with the big-endian time, nonces sort by issue time as plain strings, which the
// counter table below uses for eviction.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

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
// slots, about 300 bytes each (fixed slots, no per-nonce allocation).
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
  // Longest nonce tracked: NonceService issues 48 hex digits. A longer one is
  // never tracked, hence never accepted.
  static constexpr size_t kMaxNonce = 48;

  enum class Verdict { fresh, retransmission, replay, untracked };
  // `user` is the authenticated extension: call only after the digest response
  // matched a configured extension, so unknown names never get an entry.
  Verdict use(std::string_view user, std::string_view nonce, uint32_t nc, uint64_t fingerprint);
  // Forgets nonces issued before `cutoffNonce` sorts, and extensions left with
  // none. The caller must refuse such nonces as stale itself (NonceService::check
  // does), since a forgotten nonce is no longer known to have been used.
  void forgetBefore(const std::string& cutoffNonce);
  // Drops extensions no longer configured. Their highest tracked nonce becomes a
  // floor for any extension that starts afresh, so one removed and re-added
  // within the nonce lifetime cannot have an old Authorization replayed.
  void retainOnly(const std::set<std::string>& users);
  size_t size() const;  // nonces tracked, over all extensions
  size_t users() const { return users_.size(); }

 private:
  struct Text {  // a nonce without a heap allocation; empty = none
    std::array<char, kMaxNonce> chars{};
    uint8_t len = 0;
    std::string_view view() const { return {chars.data(), len}; }
    void assign(std::string_view s);
  };
  struct Slot {
    Text nonce;
    uint32_t maxNc = 0;
    uint64_t fingerprint = 0;
  };
  struct User {
    std::array<Slot, kSlots> slots{};  // the first `used` are live
    uint8_t used = 0;
    Text floor;  // highest nonce evicted from this extension's slots
  };
  std::map<std::string, User, std::less<>> users_;
  Text droppedFloor_;  // highest nonce of extensions dropped by retainOnly()
};
// A nonce whose time part is `ms` and every other digit zero: the lower bound
// for NonceCounter::forgetBefore.
std::string nonceFloorFor(int64_t ms);
// nc is exactly 8 hex digits (RFC 7616 §3.4).
std::optional<uint32_t> parseNonceCount(std::string_view nc);

}  // namespace sb::sip

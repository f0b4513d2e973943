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
// Bounded: past `capacity` entries the oldest-issued is evicted and the eviction
// floor rises; a nonce at or below the floor that is no longer tracked is
// reported `untracked` and the caller answers stale=true, so eviction costs a
// phone one extra round trip and never opens a replay window.
class NonceCounter {
 public:
  explicit NonceCounter(size_t capacity) : capacity_(capacity) {}
  enum class Verdict { fresh, retransmission, replay, untracked };
  Verdict use(const std::string& nonce, uint32_t nc, uint64_t fingerprint);
  // Forgets nonces issued before `cutoffNonce` sorts (they are stale anyway).
  void forgetBefore(const std::string& cutoffNonce);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint32_t maxNc = 0;
    uint64_t fingerprint = 0;
  };
  size_t capacity_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::string floor_;  // highest evicted nonce
};

// A nonce whose time part is `ms` and every other digit zero: the lower bound
// for NonceCounter::forgetBefore.
std::string nonceFloorFor(int64_t ms);
// nc is exactly 8 hex digits (RFC 7616 §3.4).
std::optional<uint32_t> parseNonceCount(std::string_view nc);

}  // namespace sb::sip

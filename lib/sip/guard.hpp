#pragma once
// Defences against scanners and storms, keyed by source address. Pure: times are
// monotonic milliseconds passed in. Both tables are bounded, so a flood of
// distinct sources costs fixed memory.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace sb::sip {

// security.maxAuthFailures failed digest checks from one source address ban it
// for security.banSeconds. Failures older than banSeconds are forgotten, so a
// phone with a stale password that retries now and then is never banned by
// accumulation alone. banSeconds 0 disables the ban (failures are still counted).
class SourceGuard {
 public:
  SourceGuard(int maxFailures, int64_t banMs, size_t capacity = 65536);
  void configure(int maxFailures, int64_t banMs);

  // True while `ip` is banned: the caller drops the request unanswered.
  bool banned(const std::string& ip, int64_t nowMs);
  // Records one failure; true when this failure started a ban.
  bool fail(const std::string& ip, int64_t nowMs);
  // Lifts expired bans and forgets idle sources; returns the addresses unbanned.
  struct Lifted {
    std::string ip;
    uint64_t dropped = 0;
  };
  std::vector<Lifted> sweep(int64_t nowMs);
  size_t bannedCount() const { return banned_; }

 private:
  struct Entry {
    int failures = 0;
    int64_t lastFailureMs = 0;
    int64_t bannedUntilMs = 0;  // 0: not banned
    uint64_t dropped = 0;
  };
  int maxFailures_;
  int64_t banMs_;
  size_t capacity_;
  size_t banned_ = 0;
  std::unordered_map<std::string, Entry> entries_;
};

// A token bucket per key (extension and source address): a phone stuck in a
// REGISTER loop is held to `perSecond` without touching anyone else's bucket.
class RateLimiter {
 public:
  RateLimiter(double perSecond, double burst, size_t capacity = 65536);
  bool allow(const std::string& key, int64_t nowMs);
  // Forgets full buckets (a new bucket starts full, so nothing is lost).
  void sweep(int64_t nowMs);
  size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t lastMs = 0;
  };
  double refill(Bucket& b, int64_t nowMs) const;
  double perSecond_;
  double burst_;
  size_t capacity_;
  std::unordered_map<std::string, Bucket> buckets_;
  Bucket overflow_;  // shared by new keys while the table is full
};

}  // namespace sb::sip

#include "sip/guard.hpp"

#include <algorithm>

namespace sb::sip {

SourceGuard::SourceGuard(int maxFailures, int64_t banMs, size_t capacity)
    : maxFailures_(maxFailures), banMs_(banMs), capacity_(capacity) {}

void SourceGuard::configure(int maxFailures, int64_t banMs) {
  maxFailures_ = maxFailures;
  banMs_ = banMs;
}

bool SourceGuard::banned(const std::string& ip, int64_t nowMs) {
  if (banned_ == 0) return false;  // the common case costs one comparison
  const auto it = entries_.find(ip);
  if (it == entries_.end() || it->second.bannedUntilMs == 0 || nowMs >= it->second.bannedUntilMs) return false;
  ++it->second.dropped;
  return true;
}

bool SourceGuard::fail(const std::string& ip, int64_t nowMs) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) {
    if (entries_.size() >= capacity_) sweep(nowMs);
    if (entries_.size() >= capacity_) return false;  // full of live bans: count, do not track
    it = entries_.emplace(ip, Entry{}).first;
  }
  Entry& e = it->second;
  if (e.bannedUntilMs != 0) return false;
  const int64_t window = banMs_ > 0 ? banMs_ : 600000;
  if (e.failures > 0 && nowMs - e.lastFailureMs > window) e.failures = 0;
  ++e.failures;
  e.lastFailureMs = nowMs;
  if (banMs_ <= 0 || e.failures < maxFailures_) return false;
  e.bannedUntilMs = nowMs + banMs_;
  ++banned_;
  return true;
}

std::vector<SourceGuard::Lifted> SourceGuard::sweep(int64_t nowMs) {
  std::vector<Lifted> lifted;
  const int64_t window = banMs_ > 0 ? banMs_ : 600000;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (e.bannedUntilMs != 0 && nowMs >= e.bannedUntilMs) {
      lifted.push_back({it->first, e.dropped});
      --banned_;
      it = entries_.erase(it);
    } else if (e.bannedUntilMs == 0 && nowMs - e.lastFailureMs > window) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return lifted;
}

RateLimiter::RateLimiter(double perSecond, double burst, size_t capacity)
    : perSecond_(perSecond), burst_(burst), capacity_(capacity), overflow_{burst, 0} {}

double RateLimiter::refill(Bucket& b, int64_t nowMs) const {
  if (nowMs > b.lastMs) {
    b.tokens = std::min(burst_, b.tokens + static_cast<double>(nowMs - b.lastMs) * perSecond_ / 1000.0);
    b.lastMs = nowMs;
  }
  return b.tokens;
}

bool RateLimiter::allow(const std::string& key, int64_t nowMs) {
  auto it = buckets_.find(key);
  Bucket* b = nullptr;
  if (it != buckets_.end()) {
    b = &it->second;
  } else if (buckets_.size() < capacity_) {
    b = &buckets_.emplace(key, Bucket{burst_, nowMs}).first->second;
  } else {
    b = &overflow_;
  }
  if (refill(*b, nowMs) < 1.0) return false;
  b->tokens -= 1.0;
  return true;
}

void RateLimiter::sweep(int64_t nowMs) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (refill(it->second, nowMs) >= burst_)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

}  // namespace sb::sip

#include "sip/algorithm_hints.hpp"

namespace sb::sip {

void AlgorithmHints::challenged(const std::string& client, int64_t nowMs) {
  if (pending_.size() >= capacity_ && !pending_.count(client)) return;
  pending_[client] = nowMs;
}

bool AlgorithmHints::wantsMd5Only(const std::string& client, int64_t nowMs) {
  if (auto m = marked_.find(client); m != marked_.end()) {
    if (nowMs < m->second) return true;
    marked_.erase(m);
  }
  auto p = pending_.find(client);
  if (p == pending_.end() || nowMs - p->second > kUnansweredMs) return false;
  pending_.erase(p);
  if (marked_.size() < capacity_) marked_[client] = nowMs + kMarkMs;
  return true;
}

void AlgorithmHints::answered(const std::string& client) {
  if (!pending_.empty()) pending_.erase(client);
}

void AlgorithmHints::sweep(int64_t nowMs) {
  for (auto it = pending_.begin(); it != pending_.end();)
    it = nowMs - it->second > kUnansweredMs ? pending_.erase(it) : std::next(it);
  for (auto it = marked_.begin(); it != marked_.end();) it = nowMs >= it->second ? marked_.erase(it) : std::next(it);
}

}  // namespace sb::sip

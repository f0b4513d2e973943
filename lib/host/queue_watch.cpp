#include "host/queue_watch.hpp"

namespace sb::host {

std::vector<nlohmann::json> QueueWatch::changes(const std::map<std::string, core::QueueStat>& stats,
                                                core::TimePoint now) {
  std::vector<nlohmann::json> out;
  for (auto it = seen_.begin(); it != seen_.end();) it = stats.count(it->first) ? std::next(it) : seen_.erase(it);
  for (const auto& [group, q] : stats) {
    // The oldest customer's arrival, not its wait, identifies it: the wait
    // grows between samples, the arrival stays put until that customer leaves.
    const Seen next{q.waiting, q.waiting ? now.ms - q.oldestWait.count() : 0};
    Seen& last = seen_[group];
    if (next.waiting == last.waiting && next.oldestSinceMs == last.oldestSinceMs) continue;
    last = next;
    out.push_back({{"skillGroup", group}, {"waiting", q.waiting}, {"oldestWaitMs", q.oldestWait.count()}});
  }
  return out;
}

}  // namespace sb::host

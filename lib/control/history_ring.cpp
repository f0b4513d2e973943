#include "control/history_ring.hpp"

#include <algorithm>

namespace sb::control {

void HistoryRing::push(StoredEvent event) {
  if (event.seq <= lastSeq_) return;  // never rewrite the past
  if (event.seq > lastSeq_ + 1) markLost(event.seq - 1);
  lastSeq_ = event.seq;
  events_.push_back(std::move(event));
  while (events_.size() > capacity_) {
    unreplayableThrough_ = std::max(unreplayableThrough_, events_.front().seq);
    events_.pop_front();
  }
}

void HistoryRing::markLost(uint64_t seq) {
  unreplayableThrough_ = std::max(unreplayableThrough_, seq);
  lastSeq_ = std::max(lastSeq_, seq);
  while (!events_.empty() && events_.front().seq <= seq) events_.pop_front();
}

std::deque<StoredEvent>::const_iterator HistoryRing::lowerBound(uint64_t seq) const {
  return std::lower_bound(events_.begin(), events_.end(), seq,
                          [](const StoredEvent& e, uint64_t s) { return e.seq < s; });
}

}  // namespace sb::control

#include "control/history_ring.hpp"

#include <algorithm>

namespace sb::control {

void HistoryRing::push(StoredEvent event) {
  if (event.seq <= lastSeq_) return;  // never rewrite the past
  if (event.seq > lastSeq_ + 1) markLost(event.seq - 1);
  lastSeq_ = event.seq;
  bytes_ += event.line.size();
  events_.push_back(std::move(event));
  while (events_.size() > capacity_ || (bytes_ > maxBytes_ && events_.size() > 1)) {
    unreplayableThrough_ = std::max(unreplayableThrough_, events_.front().seq);
    popFront();
  }
}

void HistoryRing::popFront() {
  bytes_ -= events_.front().line.size();
  events_.pop_front();
}

void HistoryRing::markLost(uint64_t seq) {
  unreplayableThrough_ = std::max(unreplayableThrough_, seq);
  lastSeq_ = std::max(lastSeq_, seq);
  while (!events_.empty() && events_.front().seq <= seq) popFront();
}

std::deque<StoredEvent>::const_iterator HistoryRing::lowerBound(uint64_t seq) const {
  return std::lower_bound(events_.begin(), events_.end(), seq,
                          [](const StoredEvent& e, uint64_t s) { return e.seq < s; });
}

}  // namespace sb::control

#pragma once
// The last N events, serialised once, kept for Client.resume. Bounded: the oldest
// events fall out, and the ring remembers up to which seq it can no longer replay.
#include <cstdint>
#include <cstddef>
#include <deque>
#include <string>

namespace sb::control {

struct StoredEvent {
  uint64_t seq = 0;
  std::string userId;                       // empty for gateway events
  // The NDJSON line, with its newline. Owned here: clients get copies of it in
  // their own output, so sharing it would only add a control block per event.
  std::string line;
  std::string topic{};  // empty, or an opt-in topic (subscription.hpp)
};

class HistoryRing {
 public:
  // At most `capacity` events and `maxBytes` of serialised lines (the newest
  // event is always kept), so a burst of large events cannot hold memory hostage.
  explicit HistoryRing(size_t capacity, size_t maxBytes = SIZE_MAX)
      : capacity_(capacity ? capacity : 1), maxBytes_(maxBytes) {}

  // Seqs must rise; a gap (events lost before they reached the ring) makes every
  // seq up to the gap unreplayable, as if evicted.
  void push(StoredEvent event);
  // Events up to `seq` are gone for good (lost on the way here).
  void markLost(uint64_t seq);

  // Whether every event from `fromSeq` to lastSeq() is still held.
  bool canReplayFrom(uint64_t fromSeq) const { return fromSeq > unreplayableThrough_; }
  // The first seq a resume can start from.
  uint64_t oldestReplayable() const { return unreplayableThrough_ + 1; }
  uint64_t lastSeq() const { return lastSeq_; }
  size_t size() const { return events_.size(); }
  size_t capacity() const { return capacity_; }
  size_t bytes() const { return bytes_; }

  // Calls fn(const StoredEvent&) for each held event with seq >= fromSeq, in order.
  template <typename Fn>
  void forEachFrom(uint64_t fromSeq, Fn&& fn) const {
    for (auto it = lowerBound(fromSeq); it != events_.end(); ++it) fn(*it);
  }

 private:
  std::deque<StoredEvent>::const_iterator lowerBound(uint64_t seq) const;
  void popFront();

  size_t capacity_;
  size_t maxBytes_;
  size_t bytes_ = 0;
  std::deque<StoredEvent> events_;
  uint64_t lastSeq_ = 0;
  uint64_t unreplayableThrough_ = 0;
};

}  // namespace sb::control

#pragma once
// Backpressure for one connection's events, without I/O so it can be unit-tested:
// given how many bytes already wait in the connection's output buffer, decide
// whether the next event is queued or dropped, and remember the dropped range so
// the client is told (an `eventsDropped` notice) before anything newer.
//
// Hysteresis: once the queue reached `highBytes`, events are dropped until it has
// drained to `lowBytes`, so a client just at the limit does not get one event in
// two and a notice between each.
#include <cstddef>
#include <cstdint>
#include <optional>

namespace sb::control {

struct DropNotice {
  uint64_t fromSeq = 0;  // first seq missed
  uint64_t toSeq = 0;    // last seq missed
  uint64_t count = 0;    // events this connection missed in that range (filters skip others)
};

class OutputGate {
 public:
  OutputGate(size_t highBytes, size_t lowBytes) : high_(highBytes), low_(lowBytes < highBytes ? lowBytes : highBytes) {}

  // Before queuing the event `seq`. True: queue it (after the pending notice, if
  // any); false: it was dropped and recorded.
  bool offer(uint64_t seq, size_t queuedBytes);
  // Events lost before they reached this connection (e.g. the daemon's own queue
  // overflowed): recorded like a drop.
  void recordLost(uint64_t fromSeq, uint64_t toSeq);
  // After the output drained (a write callback): leaves the dropping state when
  // the queue is at or below the low mark.
  void onDrained(size_t queuedBytes);

  // A notice is due when something was dropped and the gate is accepting again.
  bool noticeDue() const { return pending_.has_value() && !dropping_; }
  DropNotice takeNotice();

  bool dropping() const { return dropping_; }
  uint64_t droppedTotal() const { return droppedTotal_; }

 private:
  void record(uint64_t fromSeq, uint64_t toSeq, uint64_t count);

  size_t high_;
  size_t low_;
  bool dropping_ = false;
  std::optional<DropNotice> pending_;
  uint64_t droppedTotal_ = 0;
};

}  // namespace sb::control

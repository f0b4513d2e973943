#include "control/event_outlet.hpp"

#include "control/control_thread.hpp"

namespace sb::control {

EventOutlet::EventOutlet(ControlThread& thread, size_t maxPending, uint64_t firstSeq)
    : thread_(thread), maxPending_(maxPending ? maxPending : 1), nextSeq_(firstSeq ? firstSeq : 1) {}

void EventOutlet::setSink(Sink sink) { sink_ = std::move(sink); }

uint64_t EventOutlet::publish(std::string name, std::string userId, nlohmann::json data, std::string topic) {
  bool wake = false;
  uint64_t seq = 0;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return 0;
    seq = nextSeq_++;
    if (pending_.size() >= maxPending_) {
      if (lost_.toSeq == 0) lost_.fromSeq = seq;
      lost_.toSeq = seq;
      ++lostTotal_;
    } else {
      pending_.push_back(PublishedEvent{seq, std::move(name), std::move(userId), std::move(data), std::move(topic)});
    }
    if (!wakePosted_) wake = wakePosted_ = true;
  }
  // Outside the lock: post() takes the control thread's own queue lock.
  if (wake && !thread_.post([this] { drain(); })) {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  return seq;
}

void EventOutlet::drain() {
  std::vector<PublishedEvent> batch;
  LostRange lost;
  {
    std::lock_guard lock(mutex_);
    batch.swap(pending_);
    lost = lost_;
    lost_ = {};
    wakePosted_ = false;
  }
  if (sink_) sink_(batch, lost);
  // Hand the (now empty) buffer's capacity back so steady bursts do not reallocate.
  batch.clear();
  std::lock_guard lock(mutex_);
  if (pending_.empty() && batch.capacity() > pending_.capacity()) pending_.swap(batch);
}

void EventOutlet::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

uint64_t EventOutlet::lostTotal() const {
  std::lock_guard lock(mutex_);
  return lostTotal_;
}

}  // namespace sb::control

#pragma once
// The one road for events from the SIP thread to the control thread. publish()
// numbers the event (the daemon-wide seq) and appends it to a bounded batch under
// a short mutex; only the first event of a batch posts a wake-up to the control
// thread, which then takes the whole batch at once. The SIP thread therefore never
// blocks on a client, on I/O, or on the control thread's pace: if the control
// thread falls behind by more than `maxPending` events, further events are counted
// as lost (their seqs are reported to subscribers as dropped) instead of queued.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace sb::control {

class ControlThread;

struct PublishedEvent {
  uint64_t seq = 0;
  std::string name;
  std::string userId;  // the agent the event concerns; empty for gateway-wide events
  nlohmann::json data;
  std::string topic{};  // empty, or an opt-in topic (subscription.hpp)
};

// Seqs that never reached the control thread.
struct LostRange {
  uint64_t fromSeq = 0;
  uint64_t toSeq = 0;  // 0: none
};

class EventOutlet {
 public:
  using Sink = std::function<void(std::vector<PublishedEvent>& batch, LostRange lost)>;

  // The first event gets `firstSeq` (see seqBaseFor).
  EventOutlet(ControlThread& thread, size_t maxPending, uint64_t firstSeq = 1);
  EventOutlet(const EventOutlet&) = delete;
  EventOutlet& operator=(const EventOutlet&) = delete;

  // Before the first publish(); the sink runs on the control thread.
  void setSink(Sink sink);
  // Any thread. Returns the event's seq, or 0 once closed.
  // `topic`: only for connections subscribed to it (subscription.hpp).
  uint64_t publish(std::string name, std::string userId, nlohmann::json data, std::string topic = {});
  // Stops publishing (before the control thread goes away). Any thread.
  void close();

  uint64_t lostTotal() const;

 private:
  void drain();  // on the control thread

  ControlThread& thread_;
  const size_t maxPending_;
  Sink sink_;
  mutable std::mutex mutex_;
  std::vector<PublishedEvent> pending_;  // guarded by mutex_
  LostRange lost_;                       // guarded by mutex_
  uint64_t lostTotal_ = 0;               // guarded by mutex_
  uint64_t nextSeq_ = 1;                 // guarded by mutex_
  bool wakePosted_ = false;              // guarded by mutex_
  bool closed_ = false;                  // guarded by mutex_
};

}  // namespace sb::control

#pragma once
// A thread running one libevent loop (the control thread, the media thread).
// Other threads hand it work with post(): a mutex-guarded queue drained on a
// libevent wake-up, never blocking the poster. `name` tags its log lines.
#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

struct event_base;
struct event;

namespace sb {

class LoopThread {
 public:
  explicit LoopThread(const char* name);
  virtual ~LoopThread();
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  event_base* base() const { return base_; }
  // Starts the loop in its own thread; `init` runs on it first (e.g. to listen).
  void start(std::function<void()> init);
  bool post(std::function<void()> fn);
  // Runs `finish` on the loop, then breaks it and joins.
  void stop(std::function<void()> finish = {});
  int64_t lastHeartbeatMs() const { return heartbeat_.load(std::memory_order_relaxed); }
  void heartbeat();

 private:
  static void onWake(int, short, void* self) noexcept;
  void drain();

  const char* name_;
  event_base* base_ = nullptr;
  event* wake_ = nullptr;
  std::thread thread_;
  std::mutex mutex_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  bool accepting_ = true;                    // guarded by mutex_
  std::atomic<int64_t> heartbeat_{0};
};

}  // namespace sb

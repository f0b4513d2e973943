#include "control/control_thread.hpp"

#include <event2/event.h>
#include <event2/thread.h>

#include <future>
#include <stdexcept>

#include "common/c_callback.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"

namespace sb::control {

ControlThread::ControlThread() {
  // event_active() from another thread needs libevent's locking turned on.
  static const int threads = evthread_use_pthreads();
  if (threads != 0) throw std::runtime_error("libevent: no pthreads support");
  base_ = event_base_new();
  if (!base_) throw std::runtime_error("libevent: cannot create an event base");
  wake_ = event_new(base_, -1, 0, &ControlThread::onWake, this);
}

ControlThread::~ControlThread() {
  stop();
  event_free(wake_);
  event_base_free(base_);
}

void ControlThread::start(std::function<void()> init) {
  std::promise<void> started;
  auto ready = started.get_future();
  thread_ = std::thread([this, &started, init = std::move(init)] {
    try {
      if (init) init();
    } catch (...) {
      started.set_exception(std::current_exception());
      return;
    }
    heartbeat();
    started.set_value();
    event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
  });
  try {
    ready.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

bool ControlThread::post(std::function<void()> fn) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) return false;
    // Only the first closure after a drain wakes the loop: later ones ride along
    // with it (drain() takes the whole queue), so a burst costs one wake-up.
    wake = queue_.empty();
    queue_.push_back(std::move(fn));
  }
  if (wake) event_active(wake_, EV_READ, 0);
  return true;
}

void ControlThread::onWake(int, short, void* self) noexcept {
  guardedCallback("control", "posted work", [&] { static_cast<ControlThread*>(self)->drain(); });
}

void ControlThread::drain() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
  }
  for (auto& fn : batch) {
    try {
      fn();
    } catch (const std::exception& e) {
      SB_ERROR("control", "posted work failed: %s", e.what());
    }
  }
}

void ControlThread::heartbeat() { heartbeat_.store(monotonicNow().ms, std::memory_order_relaxed); }

void ControlThread::stop(std::function<void()> finish) {
  if (!thread_.joinable()) return;
  post([this, finish = std::move(finish)] {
    if (finish) finish();
    event_base_loopbreak(base_);
  });
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
  }
  thread_.join();
  drain();  // closures posted before accepting_ was cleared still own resources
}

}  // namespace sb::control

#include "common/loop_thread.hpp"

#include <event2/event.h>
#include <event2/thread.h>

#include <future>
#include <stdexcept>

#include "common/c_callback.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"

namespace sb {

LoopThread::LoopThread(const char* name) : name_(name) {
  // event_active() from another thread needs libevent's locking turned on.
  static const int threads = evthread_use_pthreads();
  if (threads != 0) throw std::runtime_error("libevent: no pthreads support");
  base_ = event_base_new();
  if (!base_) throw std::runtime_error("libevent: cannot create an event base");
  wake_ = event_new(base_, -1, 0, &LoopThread::onWake, this);
}

LoopThread::~LoopThread() {
  stop();
  event_free(wake_);
  event_base_free(base_);
}

void LoopThread::start(std::function<void()> init) {
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

bool LoopThread::post(std::function<void()> fn) {
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

void LoopThread::onWake(int, short, void* self) noexcept {
  auto* t = static_cast<LoopThread*>(self);
  guardedCallback(t->name_, "posted work", [&] { t->drain(); });
}

void LoopThread::drain() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
  }
  for (auto& fn : batch) {
    try {
      fn();
    } catch (const std::exception& e) {
      SB_ERROR(name_, "posted work failed: %s", e.what());
    }
  }
}

void LoopThread::heartbeat() { heartbeat_.store(monotonicNow().ms, std::memory_order_relaxed); }

void LoopThread::stop(std::function<void()> finish) {
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

}  // namespace sb

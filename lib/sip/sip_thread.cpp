#include "sip/sip_thread.hpp"

#include <sofia-sip/su_wait.h>

#include <stdexcept>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "sip/sip_server.hpp"
#include "sip/sofia.hpp"

namespace sb::sip {
namespace {

struct Envelope {
  std::function<void()>* fn;
};

void deliver(su_root_magic_t*, su_msg_r msg, su_msg_arg_t* arg) noexcept {
  auto* env = static_cast<Envelope*>(arg);
  std::unique_ptr<std::function<void()>> fn(env->fn);
  (void)msg;
  try {
    (*fn)();
  } catch (const std::exception& e) {
    SB_ERROR("sip", "posted work failed: %s", e.what());
  }
}

}  // namespace

SipThread::SipThread(std::shared_ptr<const config::Config> config, metrics::Metrics& metrics, store::Store* store)
    : config_(std::move(config)), metrics_(metrics), store_(store) {}

SipThread::~SipThread() { stop(); }

void SipThread::start() {
  std::promise<void> started;
  auto ready = started.get_future();
  thread_ = std::thread([this, &started] { run(&started); });
  try {
    ready.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

void SipThread::run(std::promise<void>* started) {
  // su_root belongs to the thread that creates it: create, run and destroy it here.
  RootPtr root(su_root_create(nullptr));
  if (!root) {
    started->set_exception(std::make_exception_ptr(std::runtime_error("cannot create the SIP event loop")));
    return;
  }
  try {
    server_ = std::make_unique<SipServer>(root.get(), config_, metrics_, store_,
                                          [this](std::function<void(SipServer&)> fn) {
                                            return post([this, fn = std::move(fn)] {
                                              if (server_) fn(*server_);
                                            });
                                          });
  } catch (...) {
    started->set_exception(std::current_exception());
    return;
  }
  {
    std::lock_guard lock(postMutex_);
    root_ = root.get();
    accepting_ = true;
  }
  heartbeat();
  started->set_value();
  su_root_run(root.get());
  server_.reset();
  // Deliver anything posted before accepting_ was cleared, so no closure leaks.
  while (su_root_step(root.get(), 0) > 0) {
  }
  std::lock_guard lock(postMutex_);
  root_ = nullptr;
}

bool SipThread::post(std::function<void()> fn) {
  std::lock_guard lock(postMutex_);
  if (!accepting_ || !root_) return false;
  return sendLocked(std::move(fn));
}

bool SipThread::sendLocked(std::function<void()> fn) {
  su_msg_r msg = SU_MSG_R_INIT;
  if (su_msg_create(msg, su_root_task(root_), su_root_task(root_), deliver, sizeof(Envelope)) != 0) {
    SB_ERROR("sip", "cannot post to the SIP thread");
    return false;
  }
  auto* owned = new std::function<void()>(std::move(fn));
  static_cast<Envelope*>(su_msg_data(msg))->fn = owned;
  if (su_msg_send(msg) != 0) {
    delete owned;
    return false;
  }
  return true;
}

void SipThread::heartbeat() { heartbeat_.store(monotonicNow().ms, std::memory_order_relaxed); }

void SipThread::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(postMutex_);
    if (accepting_ && root_) {
      // Queued behind everything posted so far, so that work runs first.
      su_root_t* root = root_;
      sendLocked([root] { su_root_break(root); });
    }
    accepting_ = false;
  }
  thread_.join();
}

}  // namespace sb::sip

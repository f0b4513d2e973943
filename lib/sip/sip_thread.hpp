#pragma once
// The SIP thread: runs Sofia-SIP's su_root and alone owns all domain state.
// Other threads reach it only through post(), which carries a closure across with
// su_msg (Sofia's own thread-safe mailbox into a root).
#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.hpp"

struct su_root_s;

namespace sb::metrics {
class Metrics;
}
namespace sb::store {
class Store;
}

namespace sb::sip {

class SipServer;

class SipThread {
 public:
  // `store` (may be null) is handed to the SIP thread, which alone uses it afterwards.
  SipThread(std::shared_ptr<const config::Config> config, metrics::Metrics& metrics, store::Store* store = nullptr);
  ~SipThread();
  SipThread(const SipThread&) = delete;
  SipThread& operator=(const SipThread&) = delete;

  // Starts the thread and binds every sip.listen address. Throws
  // std::runtime_error (with the address that failed) when it cannot.
  void start();
  // Runs `fn` on the SIP thread, in posting order. Returns false once stopping.
  bool post(std::function<void()> fn);
  // Processes what was posted so far, breaks the loop and joins the thread.
  void stop();

  // Only on the SIP thread.
  SipServer& server() { return *server_; }
  // Only on the SIP thread: the loop, for timers of the modules it hosts.
  su_root_s* root() const { return root_; }
  // Monotonic ms of the loop's last heartbeat; read by the watchdog.
  int64_t lastHeartbeatMs() const { return heartbeat_.load(std::memory_order_relaxed); }
  void heartbeat();

 private:
  void run(std::promise<void>* started);
  bool sendLocked(std::function<void()> fn);  // postMutex_ held, root_ set

  std::shared_ptr<const config::Config> config_;
  metrics::Metrics& metrics_;
  store::Store* store_;
  std::thread thread_;
  std::mutex postMutex_;
  su_root_s* root_ = nullptr;  // guarded by postMutex_ for posting
  bool accepting_ = false;     // guarded by postMutex_
  std::unique_ptr<SipServer> server_;
  std::atomic<int64_t> heartbeat_{0};
};

}  // namespace sb::sip

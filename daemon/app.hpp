#pragma once
// The daemon's wiring: owns the threads and modules, runs the signal loop on the
// main thread (signals are blocked everywhere and taken with sigtimedwait, so no
// work ever runs in a signal handler), and drives start-up, reload and drain.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace sb::metrics {
class Metrics;
}
namespace sb::store {
class Store;
}
namespace sb::sip {
class SipThread;
}
namespace sb::control {
class ControlThread;
class ControlServer;
class EventOutlet;
class MethodTable;
}  // namespace sb::control

namespace sb::host {
class CoreHost;
}

namespace sb::daemon {



class App {
 public:
  App(std::string configPath, config::Config config);
  ~App();
  // Starts everything; throws std::runtime_error with an operator-facing message.
  void start();
  // Runs until SIGTERM/SIGINT, then drains and stops. Returns the exit code.
  int run();

 private:
  void wireGateway();
  void reload();
  void drainAndStop();
  void pingWatchdog();
  void housekeeping(int64_t nowMs);
  // How late the SIP thread ran the last heartbeat posted to it (ms).
  std::atomic<int64_t> sipLagMs_{0};
  int64_t lastLagWarningMs_ = 0;
  int64_t lastTrimMs_ = 0;
  // WatchdogSec as systemd passed it (read once in run()); empty without one.
  std::optional<std::chrono::microseconds> watchdog_;

  std::string configPath_;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<metrics::Metrics> metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<sip::SipThread> sip_;
  std::unique_ptr<control::ControlThread> controlThread_;
  std::unique_ptr<control::ControlServer> control_;
  std::unique_ptr<control::EventOutlet> outlet_;     // core events -> control thread
  int64_t pendingSinceMs_ = 0;  // when the SIP thread's oldest unanswered heartbeat was posted
  std::unique_ptr<host::CoreHost> bridge_;            // core::Gateway, used on the SIP thread
  std::unique_ptr<control::MethodTable> methods_;    // the control socket's methods
};

// Blocks the signals the daemon handles, in the calling thread and every thread it
// starts afterwards. Call before any thread exists.
void blockSignals();

}  // namespace sb::daemon

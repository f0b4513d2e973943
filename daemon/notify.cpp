#include "daemon/notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace sb::daemon {

void notifyReady(const std::string& status) { sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str()); }

void notifyReloading() {
  // MONOTONIC_USEC lets systemd >= 253 match the reload to its READY=1.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const unsigned long long usec =
      static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading configuration", usec);
}

void notifyStopping() { sd_notify(0, "STOPPING=1\nSTATUS=draining"); }
void notifyWatchdog() { sd_notify(0, "WATCHDOG=1"); }
void notifyStatus(const std::string& status) { sd_notifyf(0, "STATUS=%s", status.c_str()); }

std::optional<std::chrono::microseconds> watchdogInterval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec);
  return std::nullopt;
}

}  // namespace sb::daemon

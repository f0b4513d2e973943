#pragma once
// systemd's notify protocol (sd_notify(3)); every call is a no-op when the
// daemon was not started by systemd (NOTIFY_SOCKET unset).
#include <chrono>
#include <optional>
#include <string>

namespace sb::daemon {

void notifyReady(const std::string& status);
void notifyReloading();
void notifyStopping();
void notifyWatchdog();
void notifyStatus(const std::string& status);
// The watchdog interval systemd expects pings within, when WatchdogSec is set.
std::optional<std::chrono::microseconds> watchdogInterval();

}  // namespace sb::daemon

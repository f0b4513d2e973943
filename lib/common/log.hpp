#pragma once
// Minimal leveled logging to stderr. journald keeps stderr; when the process runs
// under systemd (JOURNAL_STREAM is set) each line carries a "<N>" syslog priority
// prefix so journald records the right level.
#include <cstdarg>
#include <optional>
#include <string_view>

namespace sb::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };

std::optional<Level> parseLevel(std::string_view name);
void setLevel(Level level);
Level level();
bool enabled(Level level);

// printf-style; the component names the subsystem ("sip", "control", "main").
void write(Level level, const char* component, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace sb::log

#define SB_LOG(lvl, comp, ...)                                        \
  do {                                                                \
    if (::sb::log::enabled(::sb::log::Level::lvl))                    \
      ::sb::log::write(::sb::log::Level::lvl, comp, __VA_ARGS__);     \
  } while (0)
#define SB_DEBUG(comp, ...) SB_LOG(debug, comp, __VA_ARGS__)
#define SB_INFO(comp, ...) SB_LOG(info, comp, __VA_ARGS__)
#define SB_WARN(comp, ...) SB_LOG(warning, comp, __VA_ARGS__)
#define SB_ERROR(comp, ...) SB_LOG(error, comp, __VA_ARGS__)

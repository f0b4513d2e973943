#include "common/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace sb::log {
namespace {
std::atomic<int> gLevel{static_cast<int>(Level::info)};
std::mutex gMutex;

bool journalPrefix() {
  static const bool under = std::getenv("JOURNAL_STREAM") != nullptr;
  return under;
}

const char* levelName(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "?";
}

int syslogPriority(Level l) {
  switch (l) {
    case Level::debug: return 7;
    case Level::info: return 6;
    case Level::warning: return 4;
    case Level::error: return 3;
  }
  return 6;
}
}  // namespace

std::optional<Level> parseLevel(std::string_view name) {
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warning") return Level::warning;
  if (name == "error") return Level::error;
  return std::nullopt;
}

void setLevel(Level l) { gLevel.store(static_cast<int>(l), std::memory_order_relaxed); }
Level level() { return static_cast<Level>(gLevel.load(std::memory_order_relaxed)); }
bool enabled(Level l) { return static_cast<int>(l) >= gLevel.load(std::memory_order_relaxed); }

void write(Level l, const char* component, const char* fmt, ...) {
  char body[2048];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  std::lock_guard lock(gMutex);
  if (journalPrefix())
    std::fprintf(stderr, "<%d>%s: %s\n", syslogPriority(l), component, body);
  else
    std::fprintf(stderr, "%s %s: %s\n", levelName(l), component, body);
}

}  // namespace sb::log

#pragma once
// Real clocks for the I/O layers; core/ receives time as a value instead.
#include "core/clock.hpp"

namespace sb {
inline core::TimePoint monotonicNow() {
  using namespace std::chrono;
  return {duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count()};
}
inline int64_t wallClockMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace sb

#pragma once
// Time as core/ sees it: always passed in, never read, so every life cycle can be
// tested with a fake clock.
#include <chrono>
#include <cstdint>

namespace sb::core {

using Duration = std::chrono::milliseconds;
// Milliseconds on a monotonic clock; the SIP thread supplies it with each fact.
struct TimePoint {
  int64_t ms = 0;
  friend auto operator<=>(TimePoint, TimePoint) = default;
  TimePoint operator+(Duration d) const { return {ms + d.count()}; }
  Duration operator-(TimePoint o) const { return Duration(ms - o.ms); }
};


}  // namespace sb::core

#pragma once
// Turns the queue figures the host samples after every batch (core::Gateway::
// queueStats) into queueChanged events: one for a skill group whenever its count
// of waiting customers or its longest-waiting customer changed since the last
// sample. The oldest wait growing by itself is no change: a client adds the time
// since the event (that is what `oldestWaitMs` plus the clock give it).
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/gateway.hpp"

namespace sb::host {

class QueueWatch {
 public:
  // The data of each queueChanged event due, {skillGroup, waiting, oldestWaitMs},
  // in skill-group order. A group seen for the first time counts as having been
  // empty; a group gone from `stats` (a reload) is forgotten.
  std::vector<nlohmann::json> changes(const std::map<std::string, core::QueueStat>& stats, core::TimePoint now);

 private:
  struct Seen {
    size_t waiting = 0;
    int64_t oldestSinceMs = 0;  // when the longest-waiting customer joined (monotonic); 0 when none
  };
  std::map<std::string, Seen> seen_;
};

}  // namespace sb::host

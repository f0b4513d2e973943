#pragma once
// The standard process_* figures (CPU, memory, file descriptors, start time) read
// from /proc/self on each scrape. prometheus-cpp 1.0 ships no process collector.
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace sb::metrics {

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace sb::metrics

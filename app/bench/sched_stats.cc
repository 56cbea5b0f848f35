#include "app/bench/sched_stats.h"

#include <cmath>

namespace kvmm {

namespace {

uint64_t scaled(uint64_t value, double factor) {
  return static_cast<uint64_t>(std::llround(static_cast<double>(value) * factor));
}

}  // namespace

SampleSummary scale_summary(const SampleSummary& summary, double factor) {
  SampleSummary s = summary;
  s.min = scaled(summary.min, factor);
  s.median = scaled(summary.median, factor);
  s.p90 = scaled(summary.p90, factor);
  s.p99 = scaled(summary.p99, factor);
  s.p999 = scaled(summary.p999, factor);
  s.max = scaled(summary.max, factor);
  s.mean = summary.mean * factor;
  return s;
}

}  // namespace kvmm

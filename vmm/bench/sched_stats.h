#pragma once
// Exact order statistics of a benchmark's samples (every sample kept, then
// sorted): what `kvmm bench sched` reports for round trips.
#include <cstdint>
#include <vector>

namespace kvmm {

struct SampleSummary {
  uint64_t count = 0;
  uint64_t min = 0;
  uint64_t median = 0;
  uint64_t p90 = 0;
  uint64_t p99 = 0;
  uint64_t p999 = 0;
  uint64_t max = 0;
  double mean = 0;
};

// Nearest-rank percentiles: the q-quantile is the ceil(q*n)-th smallest
// sample, so every reported value is one that was measured. All zero when
// `samples` is empty.
SampleSummary summarize_samples(std::vector<uint64_t> samples);

// The same summary with every value scaled by `factor` (cycles -> ns),
// rounded to the nearest integer.
SampleSummary scale_summary(const SampleSummary& summary, double factor);

}  // namespace kvmm

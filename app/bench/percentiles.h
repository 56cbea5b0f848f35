#pragma once
// Order statistics of raw latency samples, shared by every `kvmm bench`:
// exact percentiles (nearest rank) rather than histogram bounds, and the
// log-spaced histogram the plots draw.
#include <cstdint>
#include <span>
#include <vector>

namespace kvmm {

struct Percentiles {
  uint64_t count = 0;
  uint64_t min = 0;
  uint64_t median = 0;
  uint64_t p90 = 0;
  uint64_t p99 = 0;
  uint64_t p999 = 0;
  uint64_t max = 0;
  double mean = 0;
};

// Nearest-rank percentile of sorted samples: the ceil(q * n)-th smallest
// (the smallest for q = 0). q in [0, 1]. 0 when empty.
uint64_t nearest_rank(std::span<const uint64_t> sorted, double q);

// Sorts `samples` in place and summarizes them. All zero when empty.
Percentiles summarize(std::vector<uint64_t>& samples);

// A histogram with `bins_per_decade` logarithmically spaced bins: bin k holds
// samples in [10^(k/b), 10^((k+1)/b)); a sample 0 counts in the first bin.
// Only the bins from the smallest to the largest sample are returned.
struct LogBin {
  double low;
  double high;
  uint64_t count;
};
std::vector<LogBin> log_histogram(std::span<const uint64_t> sorted, unsigned bins_per_decade);

}  // namespace kvmm

#include "app/bench/percentiles.h"

#include <algorithm>
#include <cmath>

namespace kvmm {

uint64_t nearest_rank(std::span<const uint64_t> sorted, double q) {
  if (sorted.empty()) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // ceil(q * n) computed on integers where it matters: 0.999 * 1000 is
  // 998.9999... in binary floating point, and must still be rank 999.
  const double exact = q * static_cast<double>(sorted.size());
  uint64_t rank = static_cast<uint64_t>(std::ceil(exact - 1e-9));
  rank = std::clamp<uint64_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

Percentiles summarize(std::vector<uint64_t>& samples) {
  Percentiles p;
  if (samples.empty()) return p;
  std::sort(samples.begin(), samples.end());
  p.count = samples.size();
  p.min = samples.front();
  p.max = samples.back();
  p.median = nearest_rank(samples, 0.5);
  p.p90 = nearest_rank(samples, 0.9);
  p.p99 = nearest_rank(samples, 0.99);
  p.p999 = nearest_rank(samples, 0.999);
  // Sum in long double: a million samples of ~1e6 cycles stay exact enough.
  long double sum = 0;
  for (uint64_t s : samples) sum += static_cast<long double>(s);
  p.mean = static_cast<double>(sum / static_cast<long double>(samples.size()));
  return p;
}

std::vector<LogBin> log_histogram(std::span<const uint64_t> sorted, unsigned bins_per_decade) {
  std::vector<LogBin> bins;
  if (sorted.empty() || bins_per_decade == 0) return bins;
  const double per_decade = bins_per_decade;
  auto bin_of = [&](uint64_t sample) {
    if (sample <= 1) return int64_t{0};
    return static_cast<int64_t>(std::floor(std::log10(static_cast<double>(sample)) * per_decade));
  };
  const int64_t first = bin_of(sorted.front());
  const int64_t last = bin_of(sorted.back());
  bins.reserve(static_cast<size_t>(last - first + 1));
  for (int64_t k = first; k <= last; ++k) {
    bins.push_back({std::pow(10.0, static_cast<double>(k) / per_decade),
                    std::pow(10.0, static_cast<double>(k + 1) / per_decade), 0});
  }
  for (uint64_t sample : sorted) ++bins[static_cast<size_t>(bin_of(sample) - first)].count;
  return bins;
}

}  // namespace kvmm

#include "vmm/bench/sched_stats.h"

#include <algorithm>
#include <cmath>

namespace kvmm {

namespace {

uint64_t nearest_rank(const std::vector<uint64_t>& sorted, double q) {
  const double rank = std::ceil(q * static_cast<double>(sorted.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

uint64_t scaled(uint64_t value, double factor) {
  return static_cast<uint64_t>(std::llround(static_cast<double>(value) * factor));
}

}  // namespace

SampleSummary summarize_samples(std::vector<uint64_t> samples) {
  SampleSummary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = samples.size();
  s.min = samples.front();
  s.max = samples.back();
  s.median = nearest_rank(samples, 0.5);
  s.p90 = nearest_rank(samples, 0.9);
  s.p99 = nearest_rank(samples, 0.99);
  s.p999 = nearest_rank(samples, 0.999);
  // Summed as long double: a few million samples of up to 2^40 cycles fit
  // without the rounding a running double sum would add.
  long double sum = 0;
  for (uint64_t v : samples) sum += static_cast<long double>(v);
  s.mean = static_cast<double>(sum / static_cast<long double>(samples.size()));
  return s;
}

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

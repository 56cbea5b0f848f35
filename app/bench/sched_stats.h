#pragma once
// The order statistics `kvmm bench sched` reports for round trips: the
// shared nearest-rank summary (percentiles.h), plus scaling to ns.
#include <cstdint>
#include <vector>

#include "app/bench/percentiles.h"

namespace kvmm {

using SampleSummary = Percentiles;

// Summarizes a copy of `samples` (the caller keeps them in order of
// measurement). All zero when `samples` is empty.
inline SampleSummary summarize_samples(std::vector<uint64_t> samples) { return summarize(samples); }

// The same summary with every value scaled by `factor` (cycles -> ns),
// rounded to the nearest integer.
SampleSummary scale_summary(const SampleSummary& summary, double factor);

}  // namespace kvmm

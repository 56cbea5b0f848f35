#pragma once
// `kvmm bench exits`: runs the exit benchmark guest once per kind and
// gathers the results the report formats print (exit_bench_report.h).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/bench/bench_options.h"
#include "app/bench/exit_kinds.h"
#include "app/bench/host_info.h"
#include "app/bench/percentiles.h"

namespace kvmm {

// kvmm's handler time per exit of a user-space kind, from the --stats exit
// loop (VcpuStats) in a second run of the same guest: the clock reads it
// needs stay out of the guest's samples. Its median and p99 are log2 bucket
// bounds (vcpu_stats.h), exact to a factor of two; mean, min and max are exact.
struct HandlerTime {
  uint64_t exits = 0;  // Exits that reached kvmm in that run (warm-up included)
  double mean_ns = 0;
  uint64_t min_ns = 0;
  uint64_t median_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t max_ns = 0;
};

struct ExitKindResult {
  ExitKind kind = ExitKind::kNone;
  Percentiles cycles;
  std::vector<uint64_t> samples;  // Sorted cycles.
  uint64_t negative_samples = 0;  // hlt_timer only; see ExitBenchRun.
  std::optional<HandlerTime> handler;  // User-space kinds only.
};

struct VmmShare {
  const VmmSharePair* pair = nullptr;
  int64_t median_cycles = 0;  // user median minus kernel median
  double mean_cycles = 0;
};

struct SkippedKind {
  ExitKind kind;
  std::string reason;
};

struct ExitBenchReport {
  BenchHostInfo host;
  TscFrequency tsc;
  uint64_t iterations = 0;
  uint64_t warmup = 0;
  uint64_t timer_delay_ns = 0;
  std::vector<ExitKindResult> kinds;
  std::vector<VmmShare> shares;  // Pairs whose two kinds both ran.
  std::vector<SkippedKind> skipped;  // Kinds this host cannot run.
  std::string closing_stamp;  // "rdtscp; lfence" or "lfence; rdtsc; lfence"

  double to_ns(double cycles) const { return cycles * 1e6 / tsc.khz; }
};

// Called after each kind ends, measured or skipped: its position (from 1)
// among `total` kinds to run, and its result (nullptr when skipped).
using ExitBenchProgress =
    std::function<void(ExitKind kind, size_t done, size_t total, const ExitKindResult* result)>;

// Throws Error on a host problem or a failing guest. `guest_dir` holds
// bench_exits.bin. `progress`, when set, hears of each kind as it ends.
ExitBenchReport run_exit_bench(const ExitBenchOptions& options,
                               const std::filesystem::path& guest_dir,
                               const std::string& kvmm_version,
                               const ExitBenchProgress& progress = {});

// The VMM-share rows for the kinds in `kinds` (pure; unit-tested).
std::vector<VmmShare> compute_vmm_shares(const std::vector<ExitKindResult>& kinds);

}  // namespace kvmm

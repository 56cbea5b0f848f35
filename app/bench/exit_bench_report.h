#pragma once
// The reports of `kvmm bench exits`: a text table, JSON, CSV and the plot.
//
// JSON schema (--json FILE), numbers in cycles unless the key says ns:
//   {
//     "benchmark": "exits",
//     "host": {"cpu_model", "kernel", "kvm_module", "nested", "host_cpus",
//              "tsc_khz", "tsc_khz_source", "kvmm_version", "date"},
//     "iterations": N, "warmup": W,        // per kind
//     "timer_delay_ns": 50000,             // hlt_timer: deadline distance
//     "closing_timestamp": "rdtscp; lfence",  // or "lfence; rdtsc; lfence" (no rdtscp)
//     "kinds": [
//       {"kind": "cpuid", "path": "kernel",   // path: baseline | kernel | user
//        "description": "...", "iterations": N,
//        "cycles": {"min", "median", "p90", "p99", "p99_9", "max", "mean"},
//        "ns":     {the same keys, converted with tsc_khz},
//        "negative_samples": 0,            // hlt_timer wake-ups before the deadline
//        "handler_ns": null                // user kinds: {"exits", "mean", "min",
//       }, ...                             //   "median", "p99", "max"}
//     ],
//     "vmm_share": [
//       {"name": "pio_out-pio_out_ioeventfd", "user_kind": "pio_out",
//        "kernel_kind": "pio_out_ioeventfd", "median_cycles", "median_ns",
//        "mean_cycles", "mean_ns"}, ...
//     ],
//     "skipped": [{"kind": "vmcall", "reason": "..."}]   // kinds this host cannot run
//   }
#include <string>

#include "app/bench/exit_bench.h"

namespace kvmm {

std::string format_exit_bench_text(const ExitBenchReport& report);
std::string format_exit_bench_json(const ExitBenchReport& report);
// Header, one row per kind, then one per VMM-share pair (path "vmm_share",
// only median and mean filled).
std::string format_exit_bench_csv(const ExitBenchReport& report);
// Per-kind histograms of the samples in ns.
void plot_exit_bench(const ExitBenchReport& report, const std::string& image_path);

}  // namespace kvmm

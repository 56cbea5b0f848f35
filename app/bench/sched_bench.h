#pragma once
// `kvmm bench sched`: runs the SMP guest guest/sched_bench.asm and reports how
// the host schedules vCPU threads — IPI (or spin-wait) round-trip latency
// between vCPU 0 and the others, each vCPU's progress in a common spin, and
// each vCPU thread's run delay — under --cpus, --pin, --vcpu-sched and
// --halt-poll-ns. docs/scheduling.md, "kvmm bench sched", shows a run and the
// JSON schema (also in sched_report.cc).
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "app/bench/sched_stats.h"
#include "vmm/cpu/vcpu_sched.h"

namespace kvmm {

struct SchedBenchConfig {
  enum class Workload { kIpi, kSpinWait, kSpin };
  // How the guest sends IPIs: the x2APIC ICR MSR (where the CPU has x2APIC,
  // else it falls back) or the xAPIC MMIO ICR, which KVM must decode.
  enum class Ipi { kX2apic, kXapic };
  static constexpr uint32_t kMaxCpus = 64;
  static constexpr uint32_t kMaxIterations = 10'000'000;  // 80 MB of samples

  Workload workload = Workload::kIpi;
  Ipi ipi = Ipi::kX2apic;
  uint32_t cpus = 2;
  std::vector<int> pin;
  std::optional<VcpuSchedPolicy> vcpu_sched;
  std::optional<uint32_t> halt_poll_ns;
  uint32_t iterations = 10000;  // ipi, spin-wait: measured round trips
  uint32_t warmup = 100;        // ipi, spin-wait: round trips before them
  uint32_t duration_ms = 200;   // spin
  std::optional<std::string> json_path;
};

std::optional<SchedBenchConfig::Workload> parse_sched_workload(std::string_view name);
std::string sched_workload_name(SchedBenchConfig::Workload workload);

// Where and what it ran on.
struct HostInfo {
  uint32_t cpus = 0;         // CPUs kvmm may run on (sched_getaffinity)
  std::string cpu_model;     // /proc/cpuinfo "model name"
  std::string kernel;        // uname release
  std::string kvm_module;    // kvm_intel, kvm_amd, kvm_pvm
  bool nested = false;       // the host is itself a VM (CPUID hypervisor flag)
};

struct SchedVcpuResult {
  uint32_t vcpu = 0;
  int tid = 0;
  std::optional<uint64_t> run_delay_ns;  // null without schedstats
  uint64_t kvm_run_ns = 0;
  std::optional<uint64_t> spin_count;    // spin workload only
  // From KVM's binary stats, where the kernel has them.
  std::optional<uint64_t> exits;           // every exit, in-kernel ones included
  std::optional<uint64_t> insn_emulation;  // instructions KVM emulated (kvm_pvm: most)
  std::optional<uint64_t> halt_exits;
  std::optional<uint64_t> halt_successful_poll;
  std::optional<uint64_t> halt_attempted_poll;
  std::optional<uint64_t> halt_wakeup;
};

struct SchedBenchResult {
  SchedBenchConfig config;
  HostInfo host;
  uint32_t tsc_khz = 0;
  std::string ipi_mechanism;                 // "x2apic" or "xapic"
  uint64_t wall_ns = 0;                      // the whole guest run, host clock
  std::vector<uint64_t> round_trip_cycles;   // ipi, spin-wait: one per measured iteration
  SampleSummary cycles;                      // of round_trip_cycles
  SampleSummary ns;                          // the same in ns (KVM_GET_TSC_KHZ)
  std::vector<SchedVcpuResult> vcpus;
};

// Runs the benchmark; throws Error with one line for the user on bad input,
// a host that cannot run it, or a guest that fails.
SchedBenchResult run_sched_bench(const SchedBenchConfig& config);

// sched_report.cc
std::string format_sched_table(const SchedBenchResult& result);
std::string format_sched_json(const SchedBenchResult& result);

// The command: run, print the table to `out`, write --json. Returns the exit status.
int run_sched_bench_command(const SchedBenchConfig& config, std::ostream& out);

}  // namespace kvmm

#include "app/bench/sched_bench.h"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "app/bench/guest_dir.h"
#include "base/util/error.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/kvm/kvm_system.h"
#include "vmm/machine/machine.h"


namespace kvmm {

namespace {

// The guest's parameter and result block (at kSchedBenchParamsAddress, its
// slots and samples after it); keep in step with guest/sched_bench.asm.
constexpr uint32_t kMagic = 0x44484353;  // "SCHD"
constexpr uint64_t kResultDoneOffset = 20;
constexpr uint64_t kResultX2apicOffset = 256;
constexpr uint64_t kSlotBytes = 256;
constexpr uint64_t kSlotCountOffset = 128;
// The guest's exit statuses besides 0.
constexpr int kGuestException = 0xe0;
constexpr int kGuestBadParameters = 0xe1;
constexpr const char* kGuestName = "sched_bench.bin";

struct GuestParams {
  uint32_t magic;
  uint32_t workload;
  uint32_t cpus;
  uint32_t iterations;
  uint32_t warmup;
  uint32_t done;
  uint64_t spin_tsc;
  uint32_t force_xapic;
};
static_assert(sizeof(GuestParams) == 40);

std::string first_line_with(const std::string& path, const std::string& key) {
  std::ifstream file(path);
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind(key, 0) == 0) return line;
  }
  return "";
}

HostInfo host_info() {
  HostInfo host;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    host.cpus = static_cast<uint32_t>(CPU_COUNT(&allowed));
  }
  std::string model = first_line_with("/proc/cpuinfo", "model name");
  if (const size_t colon = model.find(": "); colon != std::string::npos) {
    host.cpu_model = model.substr(colon + 2);
  }
  // The flag a hypervisor sets in CPUID for its guests, as Linux lists it.
  const std::string flags = first_line_with("/proc/cpuinfo", "flags");
  host.nested = (flags + " ").find(" hypervisor ") != std::string::npos;
  utsname name{};
  if (::uname(&name) == 0) host.kernel = name.release;
  host.kvm_module = kvm_backend_module();
  return host;
}

bool is_realtime(const std::optional<VcpuSchedPolicy>& policy) {
  return policy && (policy->kind == VcpuSchedPolicy::Kind::kFifo ||
                    policy->kind == VcpuSchedPolicy::Kind::kRr);
}

// Guest RAM: tables and image, parameters, samples, one stack per vCPU.
uint64_t guest_memory_bytes(const SchedBenchConfig& config) {
  const uint64_t samples = uint64_t{config.iterations} * sizeof(uint64_t);
  const uint64_t stacks = uint64_t{config.cpus} * 64 * 1024;
  const uint64_t bytes = kSchedBenchSamplesAddress.value + samples + stacks + 2 * kMiB;
  return (bytes + kMiB - 1) / kMiB * kMiB;
}

std::optional<uint64_t> kernel_counter(const VcpuStats& stats, std::string_view name) {
  if (!stats.kernel.available) return std::nullopt;
  for (const KvmStat& stat : stats.kernel.counters) {
    if (stat.name == name && stat.values.size() == 1) return stat.values[0];
  }
  return std::nullopt;
}

void check_config(const SchedBenchConfig& config, const HostInfo& host) {
  // A spinning SCHED_FIFO thread never yields to one of the same priority,
  // so a spin-wait partner that is runnable but not running would wait for
  // ever (and RR only every 100 ms timeslice): refused rather than hung.
  if (config.workload == SchedBenchConfig::Workload::kSpinWait && is_realtime(config.vcpu_sched) &&
      config.cpus > host.cpus) {
    throw Error("--workload spin-wait with --vcpu-sched " + vcpu_sched_name(*config.vcpu_sched) +
                " and more vCPUs (" + std::to_string(config.cpus) + ") than host CPUs (" +
                std::to_string(host.cpus) + ") would livelock: use --workload ipi, "
                "--vcpu-sched other, or --cpus " + std::to_string(host.cpus));
  }
}

}  // namespace

std::optional<SchedBenchConfig::Workload> parse_sched_workload(std::string_view name) {
  if (name == "ipi") return SchedBenchConfig::Workload::kIpi;
  if (name == "spin-wait") return SchedBenchConfig::Workload::kSpinWait;
  if (name == "spin") return SchedBenchConfig::Workload::kSpin;
  return std::nullopt;
}

std::string sched_workload_name(SchedBenchConfig::Workload workload) {
  switch (workload) {
    case SchedBenchConfig::Workload::kIpi: return "ipi";
    case SchedBenchConfig::Workload::kSpinWait: return "spin-wait";
    case SchedBenchConfig::Workload::kSpin: return "spin";
  }
  return "?";
}

SchedBenchResult run_sched_bench(const SchedBenchConfig& config) {
  SchedBenchResult result;
  result.config = config;
  result.host = host_info();
  check_config(config, result.host);
  const bool spin = config.workload == SchedBenchConfig::Workload::kSpin;

  VmConfig vm;
  vm.flat_image = find_guest(kGuestName, "the scheduling");
  vm.mode = CpuMode::kLong;
  vm.memory_bytes = guest_memory_bytes(config);
  vm.cpus = config.cpus;
  vm.pin = config.pin;
  vm.vcpu_sched = config.vcpu_sched;
  vm.halt_poll_ns = config.halt_poll_ns;
  vm.stats.emplace();  // Counted, for the run delay and KVM's counters; printed by us.
  vm.console = false;  // The terminal stays cooked: Ctrl-C stops the benchmark.
  std::unique_ptr<Machine> machine = Machine::build(vm);

  result.tsc_khz = machine->tsc_khz();
  GuestParams params{};
  params.magic = kMagic;
  params.workload = static_cast<uint32_t>(config.workload);
  params.cpus = config.cpus;
  params.iterations = spin ? 0 : config.iterations;
  params.warmup = spin ? 0 : config.warmup;
  params.spin_tsc = uint64_t{config.duration_ms} * result.tsc_khz;
  params.force_xapic = config.ipi == SchedBenchConfig::Ipi::kXapic ? 1 : 0;
  if (!machine->memory().write_obj(kSchedBenchParamsAddress, params)) {
    throw Error("the scheduling guest's parameters do not fit in its memory (a kvmm bug)");
  }

  const auto started = std::chrono::steady_clock::now();
  const RunOutcome outcome = machine->run();
  result.wall_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now() - started)
                                             .count());
  if (outcome.exit_status == kExitSetupFailed && !outcome.message.empty()) {
    throw Error(outcome.message);
  }
  if (outcome.exit_status > 128) throw Error("bench sched " + outcome.message);
  if (outcome.exit_status == kGuestException) {
    throw Error("the scheduling guest hit a CPU exception (status 0xe0): a kvmm or guest bug");
  }
  if (outcome.exit_status == kGuestBadParameters) {
    throw Error("the scheduling guest refused its parameters (status 0xe1): a kvmm bug");
  }
  const GuestMemory& memory = machine->memory();
  const auto done =
      memory.read_obj<uint32_t>(GuestAddress{kSchedBenchParamsAddress.value + kResultDoneOffset});
  if (outcome.exit_status != kExitOk || !done || *done != 1) {
    throw Error("the scheduling guest did not finish (exit status " +
                std::to_string(outcome.exit_status) + (outcome.message.empty() ? "" : ": ") +
                outcome.message + ")");
  }
  const auto x2apic =
      memory.read_obj<uint64_t>(GuestAddress{kSchedBenchParamsAddress.value + kResultX2apicOffset});
  result.ipi_mechanism = x2apic && *x2apic == 1 ? "x2apic" : "xapic";

  if (!spin) {
    // Guest-controlled, like the counts below: only ever reported, never used
    // as sizes or addresses.
    result.round_trip_cycles.resize(config.iterations);
    const auto bytes = std::as_writable_bytes(std::span(result.round_trip_cycles));
    if (!memory.read(kSchedBenchSamplesAddress,
                     std::span(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()))) {
      throw Error("the round-trip samples lie outside guest memory (a kvmm bug)");
    }
    result.cycles = summarize_samples(result.round_trip_cycles);
    result.ns = scale_summary(result.cycles, 1e6 / result.tsc_khz);
  }
  for (const VcpuStats& stats : machine->vcpu_stats()) {
    SchedVcpuResult vcpu;
    vcpu.vcpu = stats.vcpu;
    vcpu.tid = stats.tid;
    vcpu.run_delay_ns = stats.run_delay_ns;
    vcpu.kvm_run_ns = stats.kvm_run_ns;
    if (spin) {
      vcpu.spin_count = memory.read_obj<uint64_t>(
          GuestAddress{kSchedBenchSlotsAddress.value + kSlotBytes * stats.vcpu + kSlotCountOffset});
    }
    vcpu.exits = kernel_counter(stats, "exits");
    vcpu.insn_emulation = kernel_counter(stats, "insn_emulation");
    vcpu.halt_exits = kernel_counter(stats, "halt_exits");
    vcpu.halt_successful_poll = kernel_counter(stats, "halt_successful_poll");
    vcpu.halt_attempted_poll = kernel_counter(stats, "halt_attempted_poll");
    vcpu.halt_wakeup = kernel_counter(stats, "halt_wakeup");
    result.vcpus.push_back(vcpu);
  }
  return result;
}

int run_sched_bench_command(const SchedBenchConfig& config, std::ostream& out) {
  const SchedBenchResult result = run_sched_bench(config);
  out << format_sched_table(result);
  out.flush();
  if (config.json_path) {
    std::ofstream file(*config.json_path, std::ios::binary | std::ios::trunc);
    file << format_sched_json(result);
    file.close();
    if (!file) {
      throw Error("could not write the results to " + *config.json_path +
                  ": check that its directory exists and is writable");
    }
  }
  return 0;
}

}  // namespace kvmm

#pragma once
// One run of the exit benchmark guest for one exit kind, in a VM of its own:
// long mode, an in-kernel irqchip (the LAPIC timer for hlt_timer, and what a
// real VM has anyway), kvmm's test device, a COM1 UART whose output is only
// counted, the debug-exit port, and two ioeventfds. Built from the same
// layers as `kvmm run` (KvmVm, GuestMemory, the flat loader, Bus, Vcpu and
// its exit dispatch), so the user-space path measured is kvmm's own.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/bench/exit_kinds.h"
#include "base/util/error.h"
#include "vmm/cpu/vcpu_stats.h"
#include "vmm/kvm/kvm_system.h"

namespace kvmm {

struct ExitBenchRequest {
  std::filesystem::path guest;  // build/guest/bench_exits.bin
  ExitKind kind = ExitKind::kNone;
  uint64_t iterations = 0;
  uint64_t warmup = 0;
  // hlt_timer: how far ahead each deadline is set. Long enough that the
  // vCPU really halts (and KVM's halt polling may give up), short enough
  // for many iterations per second.
  uint64_t timer_delay_ns = 50'000;
  // Time kvmm's handlers with the --stats exit loop; off for the run whose
  // guest samples are reported, so clock reads do not inflate them.
  bool time_handlers = false;
};

struct ExitBenchRun {
  std::vector<uint64_t> samples;  // Cycles, one per iteration.
  uint64_t negative_samples = 0;  // hlt_timer woke before the deadline; counted as 0.
  std::optional<uint32_t> kvm_tsc_khz;  // KVM_GET_TSC_KHZ of the vCPU
  std::optional<VcpuStats> stats;       // With time_handlers.
  uint64_t serial_bytes = 0;            // Bytes the guest wrote to COM1.
  uint64_t ioeventfd_signals = 0;       // Counted by the two eventfds.
  // How the guest closed each interval: "rdtscp; lfence", or "lfence; rdtsc;
  // lfence" where the vCPU has no rdtscp.
  std::string closing_stamp;
};

// The guest did not finish before the watchdog: its KVM never completed an
// exit, or an interrupt never came.
class GuestTimedOut : public Error {
 public:
  using Error::Error;
};

// Throws Error when the VM cannot be built or the guest fails, GuestTimedOut
// when it does not finish.
ExitBenchRun run_exit_bench_vm(const KvmSystem& kvm, const ExitBenchRequest& request);

// Guest RAM for `iterations` samples: the flat-guest tables, image and stack
// below 1 MiB... 16 MiB, the samples from 16 MiB.
// (kExitBenchSamplesAddress, vmm/arch/x86/layout.h).
uint64_t exit_bench_memory_bytes(uint64_t iterations);

}  // namespace kvmm

#include "app/bench/exit_bench_vm.h"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <memory>

#include "app/bench/host_info.h"
#include "base/bus/bus.h"
#include "base/memory/guest_memory.h"
#include "base/util/error.h"
#include "base/util/event_fd.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/flat_loader.h"
#include "vmm/cpu/cpu_mode.h"
#include "vmm/cpu/cpuid.h"
#include "vmm/cpu/run_outcome.h"
#include "vmm/cpu/stop_controller.h"
#include "vmm/cpu/vcpu.h"
#include "vmm/kvm/kvm_abi.h"
#include "vmm/machine/memory_slots.h"
#include "vmm/machine/platform_devices.h"

namespace kvmm {

namespace {

std::string guest_failure(const ExitKindInfo& info, const RunOutcome& outcome) {
  std::string what = "the exit benchmark guest failed for kind " + std::string(info.name) + ": ";
  switch (outcome.exit_status) {
    case kBenchBadParams: return what + "it rejected its parameters (a kvmm bug)";
    case kBenchUnexpectedVector:
      return what + "an unexpected interrupt or exception arrived (this host's KVM may not "
                    "deliver the LAPIC timer; try without --kind hlt_timer)";
    default:
      return what + "exit status " + std::to_string(outcome.exit_status) +
             (outcome.message.empty() ? "" : " (" + outcome.message + ")");
  }
}

// Generous: 1 ms per exit is about ten times the slowest median measured
// (hlt_timer in the nested host), and the VM is built before the clock starts.
int watchdog_ms(const ExitBenchRequest& request) {
  const uint64_t exits = request.iterations + request.warmup;
  return static_cast<int>(std::min<uint64_t>(5'000 + exits, 3'600'000));
}

}  // namespace

uint64_t exit_bench_memory_bytes(uint64_t iterations) {
  const uint64_t samples = iterations * sizeof(uint64_t);
  const uint64_t rounded = (samples + (2 * kMiB) - 1) / (2 * kMiB) * (2 * kMiB);
  // A stack above the samples: flat guests get RSP at the top of low RAM.
  return kExitBenchSamplesAddress + rounded + 2 * kMiB;
}

ExitBenchRun run_exit_bench_vm(const KvmSystem& kvm, const ExitBenchRequest& request) {
  const ExitKindInfo& info = exit_kind_info(request.kind);
  const uint64_t memory_bytes = exit_bench_memory_bytes(request.iterations);
  GuestMemory memory = make_guest_memory(memory_bytes);
  load_flat_image(memory, request.guest, kFlatLoadAddress);
  write_mode_tables(memory, CpuMode::kLong);

  KvmVm vm = kvm.create_vm();
  map_guest_memory(vm, memory);
  vm.create_irqchip();

  StopController stop;
  ExitBenchRun result;
  Bus pio(Bus::Kind::kPio);
  Bus mmio(Bus::Kind::kMmio);
  PlatformWiring wiring;
  // The sink counts: printing would time the terminal, not the exit.
  wiring.serial_output = [&result](uint8_t) { ++result.serial_bytes; };
  wiring.debug_exit = [&stop](uint8_t status) { stop.request_stop(RunOutcome{status, ""}); };
  add_platform_devices(pio, mmio, std::move(wiring));
  // The kernel signals these without exiting to kvmm. Nobody waits on them:
  // the counter only grows, by one per write, far from its 2^64-2 limit.
  EventFd pio_event;
  EventFd mmio_event;
  vm.add_ioeventfd(pio_event.get(), {KvmVm::IoSpace::kPio, kIoeventfdPort, 1, std::nullopt});
  // Length 4, not 0 ("any width"): a zero-length MMIO ioeventfd takes KVM's
  // fast path that skips decoding the instruction, while the test device's
  // MMIO write is decoded; with length 4 both pay for the decode, so the
  // difference of the pair is kvmm's share.
  vm.add_ioeventfd(mmio_event.get(), {KvmVm::IoSpace::kMmio, kIoeventfdMmioAddress, 4, std::nullopt});

  KvmVcpu kvm_vcpu = vm.create_vcpu(0);
  std::vector<uint8_t> cpuid = cpuid_for_vcpu(kvm.supported_cpuid(), 0, 1, host_cpu_brand());
  add_tsc_deadline(cpuid);
  kvm_vcpu.set_cpuid(cpuid);
  kvm_sregs sregs = kvm_vcpu.sregs();
  kvm_regs regs{};
  set_entry_state(CpuMode::kLong, kFlatLoadAddress,
                  GuestAddress{low_ram_end(memory_bytes) & ~uint64_t{0xf}}, sregs, regs);
  kvm_vcpu.set_sregs(sregs);
  kvm_vcpu.set_regs(regs);
  result.kvm_tsc_khz = kvm_vcpu.tsc_khz_if_known();

  const TscFrequency tsc = tsc_frequency(result.kvm_tsc_khz);
  ExitBenchParams params{};
  params.kind = static_cast<uint64_t>(request.kind);
  params.iterations = request.iterations;
  params.warmup = request.warmup;
  params.samples_address = kExitBenchSamplesAddress;
  params.timer_delta_cycles =
      static_cast<uint64_t>(tsc.khz * static_cast<double>(request.timer_delay_ns) / 1e6);
  if (!memory.write_obj(GuestAddress{kExitBenchParamsAddress}, params)) {
    throw Error("internal error: the benchmark parameters do not fit in guest memory");
  }

  Vcpu vcpu(std::move(kvm_vcpu), Vcpu::Wiring{&pio, &mmio, &stop, nullptr});
  if (request.time_handlers) vcpu.enable_stats();
  // A guest that never finishes (a KVM that never returns from an exit, a
  // timer that never fires) must not hang kvmm: a watchdog kicks the vCPU.
  const int limit_ms = watchdog_ms(request);
  std::atomic<bool> timed_out{false};
  std::thread watchdog([&] {
    pollfd stopped{stop.fd(), POLLIN, 0};
    int ready = 0;
    while ((ready = ::poll(&stopped, 1, limit_ms)) < 0 && errno == EINTR) {
    }
    if (ready == 0) {
      timed_out = true;
      stop.request_stop(RunOutcome{kExitGuestCrashed, "no result"});
      vcpu.kick();
    }
  });
  // On this thread: one vCPU, nothing to wait for but its end.
  vcpu.run_loop();
  stop.request_stop(RunOutcome{kExitGuestCrashed, "the vCPU loop ended early"});
  watchdog.join();
  if (timed_out) {
    throw GuestTimedOut("the exit benchmark guest for kind " + std::string(info.name) +
                " did not finish in " + std::to_string(limit_ms / 1000) +
                " s: this host's KVM may not complete that exit; leave it out of --kind");
  }
  const RunOutcome outcome = stop.outcome();
  if (outcome.exit_status != 0) throw Error(guest_failure(info, outcome));
  if (request.time_handlers) result.stats = *vcpu.stats();
  result.ioeventfd_signals = pio_event.consume() + mmio_event.consume();
  const auto stamp = memory.read_obj<ExitBenchParams>(GuestAddress{kExitBenchParamsAddress});
  result.closing_stamp = stamp && stamp->closing_stamp == kStampRdtscp ? "rdtscp; lfence"
                                                                        : "lfence; rdtsc; lfence";

  const auto bytes = memory.slice(GuestAddress{kExitBenchSamplesAddress},
                                  request.iterations * sizeof(uint64_t));
  if (!bytes) throw Error("internal error: the benchmark samples lie outside guest memory");
  result.samples.resize(request.iterations);
  for (uint64_t i = 0; i < request.iterations; ++i) {
    int64_t sample = 0;
    std::memcpy(&sample, bytes->data() + i * sizeof sample, sizeof sample);  // Guest-controlled.
    if (sample < 0) {
      ++result.negative_samples;
      sample = 0;
    }
    result.samples[i] = static_cast<uint64_t>(sample);
  }
  return result;
}

}  // namespace kvmm

#pragma once
// One vCPU and its exit loop. The loop runs on the vCPU's own thread: it
// enters the guest with KVM_RUN, dispatches each exit that reaches user
// space to the PIO or MMIO bus, and returns when the VM is to stop.
//
// Threads: run_loop() is the only code that touches the KvmVcpu and its
// kvm_run area, except kick(), which any thread may call and which only
// writes kvm_run.immediate_exit and signals the vCPU thread, and the live
// views (tid(), live_stats()), which read what the vCPU thread publishes.
// The stats are the vCPU thread's until it is joined (see stats()).
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "base/bus/bus.h"
#include "vmm/cpu/exit_dispatch.h"
#include "vmm/cpu/exit_log.h"
#include "vmm/cpu/pause_gate.h"
#include "vmm/cpu/stop_controller.h"
#include "vmm/cpu/vcpu_stats.h"
#include "vmm/kvm/kvm_vcpu.h"

namespace kvmm {

class Vcpu {
 public:
  using Wiring = ExitWiring;

  // What a vCPU does, on its own thread, when the guest wakes from a sleep
  // (ACPI S3) that parked it: the machine resets it (registers, local
  // APIC, MP state) as a waking PC's firmware would. Throws Error when it
  // cannot; that stops the VM.
  using WakeHandler = std::function<void(KvmVcpu&)>;

  // `pause`, when given, is where the thread parks while the VM is paused
  // or asleep; `on_wake` runs when it leaves a sleep.
  Vcpu(KvmVcpu kvm_vcpu, Wiring wiring, PauseGate* pause = nullptr, WakeHandler on_wake = {});

  KvmVcpu& kvm() { return kvm_; }
  uint32_t index() const { return kvm_.index(); }

  // Runs on the vCPU thread until a stop is requested. Errors (a failing
  // KVM_RUN) become a stop request, never an exception out of the thread.
  void run_loop();

  // Any thread: make run_loop() leave KVM_RUN promptly and see the stop.
  void kick();

  // Before the thread starts: count exits and time KVM_RUN and the handlers
  // (--stats). Off by default, and then the exit loop has no timing at all.
  void enable_stats();
  // Null unless enabled. Written by the vCPU thread only; read it only after
  // that thread is joined.
  const VcpuStats* stats() const { return stats_.get(); }

  // Any thread, while the VM runs. The host thread id of run_loop() (0
  // before it starts).
  int tid() const { return tid_.load(std::memory_order_acquire); }
  // What the statistics say now: kvmm's own counters as the vCPU thread last
  // published them (with --stats; at most kPublishIntervalNs old while it
  // exits, or as of its last exit), the kernel's counters and the run delay
  // read fresh.
  VcpuStats live_stats() const;

  static constexpr uint64_t kPublishIntervalNs = 100'000'000;

 private:
  // Handles one exit; returns false when this exit stops the VM.
  bool handle_exit();
  // Stops the VM with kExitGuestCrashed: `message` and the registers.
  void crash(std::string message);
  // The exit loop of --stats: the plain loop plus clocks and counters.
  void run_loop_with_stats();
  void begin_stats();
  void end_stats();
  // Copies stats_ for live_stats(), at most every kPublishIntervalNs.
  void publish_stats(uint64_t now_ns, bool force);
  // Parks this thread while the VM is paused or asleep; resets the vCPU
  // through on_wake_ when it wakes.
  void park();
  void read_kernel_stats(VcpuStats& into) const;

  KvmVcpu kvm_;
  ExitDispatcher dispatcher_;
  PauseGate* const pause_;
  const WakeHandler on_wake_;
  std::atomic<bool> thread_started_{false};
  std::atomic<int> tid_{0};
  pthread_t thread_{};
  std::unique_ptr<VcpuStats> stats_;  // Touched by the vCPU thread only, until joined.
  // KVM_GET_STATS_FD, opened with the vCPU; read with pread, from any thread.
  UniqueFd kernel_stats_fd_;
  std::string kernel_stats_unavailable_;  // Why kernel_stats_fd_ is invalid.
  mutable std::mutex published_mutex_;    // Guards published_.
  VcpuStats published_;
  uint64_t last_publish_ns_ = 0;  // The vCPU thread's.
};

// Installs the (empty) handler of the signal that kicks vCPU threads out of
// KVM_RUN. Call once, before any vCPU thread starts.
void install_vcpu_kick_handler();

}  // namespace kvmm

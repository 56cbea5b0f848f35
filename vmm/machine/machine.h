#pragma once
// The machine: assembles KVM, guest memory, buses, devices and vCPUs from a
// VmConfig (build), then runs the vCPU threads until the guest or a signal
// stops it (run).
//
// Threads: build() and run() are called by the main thread, which owns the
// lifecycle. Each vCPU thread runs Vcpu::run_loop(); devices are reached from
// vCPU threads through the buses and guard their own state.
#include <memory>
#include <vector>

#include "vmm/bus/bus.h"
#include "vmm/cpu/exit_log.h"
#include "vmm/cpu/run_outcome.h"
#include "vmm/cpu/stop_controller.h"
#include "vmm/cpu/vcpu.h"
#include "vmm/kvm/kvm_system.h"
#include "vmm/machine/vm_config.h"
#include "vmm/memory/guest_memory.h"

namespace kvmm {

class Machine {
 public:
  // Throws Error with a message for the user on any bad input or host problem.
  static std::unique_ptr<Machine> build(const VmConfig& config);

  // Runs until the guest stops, crashes, or SIGINT/SIGTERM/SIGHUP arrives.
  RunOutcome run();

 private:
  Machine(KvmSystem kvm, KvmVm vm, GuestMemory memory)
      : kvm_(std::move(kvm)), vm_(std::move(vm)), memory_(std::move(memory)) {}
  void register_memory();
  void add_devices();
  void create_vcpus(const VmConfig& config);

  KvmSystem kvm_;
  KvmVm vm_;
  GuestMemory memory_;
  Bus pio_{Bus::Kind::kPio};
  Bus mmio_{Bus::Kind::kMmio};
  StopController stop_;
  std::unique_ptr<ExitLog> exit_log_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
};

}  // namespace kvmm

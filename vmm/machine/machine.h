#pragma once
// The machine: assembles KVM, guest memory, buses, devices and vCPUs from a
// VmConfig (build), then runs the vCPU threads until the guest or a signal
// stops it (run).
//
// Threads: build() and run() are called by the main thread, which owns the
// lifecycle. Each vCPU thread runs Vcpu::run_loop(); devices are reached from
// vCPU threads through the buses and guard their own state.
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bus/bus.h"
#include "base/memory/guest_memory.h"
#include "vmm/boot/linux/linux_boot.h"
#include "vmm/console/console_output.h"
#include "vmm/cpu/exit_log.h"
#include "vmm/cpu/run_outcome.h"
#include "vmm/cpu/stop_controller.h"
#include "vmm/cpu/vcpu.h"
#include "vmm/kvm/kvm_system.h"
#include "vmm/machine/boot_trace.h"
#include "vmm/machine/mmio_device_manager.h"
#include "vmm/machine/panic_watch.h"
#include "vmm/machine/platform_devices.h"
#include "vmm/machine/vm_config.h"

namespace kvmm {

class Machine {
 public:
  // Throws Error with a message for the user on any bad input or host problem.
  static std::unique_ptr<Machine> build(const VmConfig& config);

  // Runs until the guest stops, crashes, or SIGINT/SIGTERM/SIGHUP arrives.
  RunOutcome run();

  // For benchmarks, which pass parameters to their guest before run() and
  // read its results after.
  const GuestMemory& memory() const { return memory_; }
  // The guest's TSC frequency (KVM_GET_TSC_KHZ on vCPU 0).
  uint32_t tsc_khz() const;
  // Per-vCPU statistics (config.stats set); only after run() returned.
  std::vector<VcpuStats> vcpu_stats() const;

  // Presses the guest's ACPI power button: latches the event in the Generic
  // Event Device and raises its interrupt, so a guest that handles the
  // button (the default guest does) shuts down and powers off, which ends
  // run(). Asks only: a guest that ignores the button keeps running. Safe
  // from any thread, before or during run(). A flat guest has no ACPI and no
  // button: nothing happens.
  void press_power_button();

 private:
  // Builds every part straight-line, in member order (below).
  explicit Machine(const VmConfig& config);
  bool is_linux() const { return linux_.has_value(); }
  bool is_flat_smp() const { return !is_linux() && config_.cpus > 1; }

  // Each builds one part from the members declared before it.
  // machine.cc
  std::optional<LinuxBootInfo> load_guest();
  std::vector<VirtioDeviceEntry> open_virtio_devices() const;
  KvmSystem open_kvm() const;
  KvmVm create_vm();
  PlatformWiring platform_wiring();
  // machine_vcpus.cc
  void check_vcpu_limits(const KvmSystem& kvm) const;
  std::vector<std::unique_ptr<Vcpu>> create_vcpus();
  void set_boot_state(KvmVcpu& vcpu) const;
  void pin_current_thread(uint32_t vcpu) const;
  // Pinning and --vcpu-sched, on the vCPU thread before it enters the guest.
  void prepare_vcpu_thread(uint32_t vcpu) const;
  // machine.cc: --stats, after every vCPU thread is joined.
  void report_stats() const;

  // Stack of each vCPU of a flat guest, below the previous one's.
  static constexpr uint64_t kFlatStackBytes = 64 * 1024;

  // In construction order. Guest memory, images and host files come before
  // KVM: bad input is reported as such even on a host without KVM, and
  // before anything is created in the kernel.
  const VmConfig config_;
  BootTrace trace_;
  PanicWatch panic_watch_;
  StopController stop_;
  // COM1 to stdout: vCPUs append, run()'s poll loop writes (console_output.h).
  ConsoleOutput console_output_{STDOUT_FILENO};
  GuestMemory memory_;
  const MmioDeviceManager virtio_slots_;
  // The kernel, its command line, initrd and boot data, the firmware tables;
  // unset for a flat guest (its image and mode tables).
  const std::optional<LinuxBootInfo> linux_;
  Bus pio_{Bus::Kind::kPio};
  Bus mmio_{Bus::Kind::kMmio};
  // Disks and taps opened, their transports on mmio_.
  VirtioMmioDevices virtio_;
  const KvmSystem kvm_;
  // Memory slots, irqchip, and the virtio devices' ioeventfds and irqfds.
  KvmVm vm_;
  const PlatformDevices platform_;
  const std::unique_ptr<ExitLog> exit_log_;
  const std::vector<std::unique_ptr<Vcpu>> vcpus_;
};

}  // namespace kvmm

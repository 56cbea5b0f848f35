#pragma once
// The machine: assembles KVM, guest memory, buses, devices and vCPUs from a
// VmConfig (build), then runs the vCPU threads until the guest or a signal
// stops it (run).
//
// Threads: build() and run() are called by the main thread, which owns the
// lifecycle. Each vCPU thread runs Vcpu::run_loop(); devices are reached from
// vCPU threads through the buses and guard their own state. The control
// calls (state() to vcpu_threads(), below) may be made by any one other
// thread (the API's) at any time between build() and destruction; they are
// serialised among themselves.
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bus/bus.h"
#include "base/memory/guest_memory.h"
#include "base/util/event_fd.h"
#include "base/util/rate_limited_log.h"
#include "base/util/unique_fd.h"
#include "vmm/boot/linux/linux_boot.h"
#include "vmm/console/console_output.h"
#include "vmm/cpu/exit_log.h"
#include "vmm/cpu/pause_gate.h"
#include "vmm/cpu/run_outcome.h"
#include "vmm/cpu/stop_controller.h"
#include "vmm/cpu/vcpu.h"
#include "vmm/kvm/kvm_system.h"
#include "vmm/machine/boot_trace.h"
#include "vmm/machine/mmio_device_manager.h"
#include "vmm/machine/panic_watch.h"
#include "vmm/machine/platform_devices.h"
#include "vmm/machine/vm_config.h"
#include "vmm/machine/vm_state.h"

namespace kvmm {

class Machine {
 public:
  // Throws Error with a message for the user on any bad input or host problem.
  static std::unique_ptr<Machine> build(const VmConfig& config);

  // Runs until the guest stops, crashes, or SIGINT/SIGTERM/SIGHUP arrives.
  // `on_started`, if given, is called on the main thread once every vCPU
  // thread runs (`kvmm run --detach` then lets its parent go).
  RunOutcome run(const std::function<void()>& on_started = {});

  // For benchmarks, which pass parameters to their guest before run() and
  // read its results after.
  const GuestMemory& memory() const { return memory_; }
  // The guest's TSC frequency (KVM_GET_TSC_KHZ on vCPU 0).
  uint32_t tsc_khz() const;
  // Per-vCPU statistics (config.stats set); only after run() returned.
  std::vector<VcpuStats> vcpu_stats() const;

  // Control, from any one thread besides main (see Threads above). Each
  // throws Error with a message for the user when the VM's state forbids it.
  VmState state() const { return state_.load(std::memory_order_acquire); }
  const VmConfig& config() const { return config_; }
  // Seconds since run() started the vCPUs; 0 before.
  double uptime_seconds() const;
  // Takes every vCPU out of the guest and parks it, and quiesces the virtio
  // devices: nothing runs guest code or writes guest memory or disk images
  // until resume(). Returns once all are parked.
  void pause();
  void resume();
  // Ends the run now, as if the guest had powered off (exit status 0).
  void power_off(std::string reason);
  // Per vCPU: its host thread and where and how the host schedules it.
  std::vector<VcpuThreadInfo> vcpu_threads() const;
  // Per vCPU, now (Vcpu::live_stats()).
  std::vector<VcpuStats> live_stats() const;
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
  // A multiboot kernel (kvm-unit-tests): booted like Linux, with the PC
  // firmware interfaces tests written for QEMU expect.
  bool is_multiboot() const {
    return linux_ && linux_->protocol == LinuxBootInfo::Protocol::kMultiboot;
  }

  // Each builds one part from the members declared before it.
  // machine.cc
  std::optional<LinuxBootInfo> load_guest();
  // --kernel-unpack: the bzImage's payload decompressed on the host, or
  // nullopt (off, not a bzImage, or not unpackable: the trace says why).
  std::optional<UnpackedKernel> unpack_kernel();
  std::vector<VirtioDeviceEntry> open_virtio_devices() const;
  KvmSystem open_kvm() const;
  KvmVm create_vm();
  // The 8259s and the PIT as a BIOS leaves them (multiboot/bios_handoff.h).
  static void set_bios_timer_state(KvmVm& vm);
  PlatformWiring platform_wiring();
  // machine_vcpus.cc
  void check_vcpu_limits(const KvmSystem& kvm) const;
  std::vector<std::unique_ptr<Vcpu>> create_vcpus();
  void set_boot_state(KvmVcpu& vcpu) const;
  void pin_current_thread(uint32_t vcpu) const;
  // Pinning and --vcpu-sched, on the vCPU thread before it enters the guest.
  void prepare_vcpu_thread(uint32_t vcpu) const;
  // machine.cc: --stats-file, opened while the machine is built; fd
  // invalid and `error` set when it cannot be.
  struct StatsFile {
    UniqueFd fd;
    std::string error;
  };
  StatsFile open_stats_file() const;
  // machine.cc: --stats, after every vCPU thread is joined.
  void report_stats() const;
  // machine_control.cc: run()'s state changes.
  void mark_running();
  void mark_stopping();
  // ACPI sleep (machine_control.cc). A multiboot guest's write of SLP_EN to
  // PM1a_CNT, on its vCPU thread: S3 parks every vCPU (the writer included,
  // before it runs another instruction) and tells the main thread; S5 stops
  // the VM with status 0; other states are ignored.
  void request_sleep(uint8_t sleep_type);
  // ACPI S5 from the guest (either sleep register): the run ends with 0.
  void guest_powered_off();
  // Main thread: once every vCPU is parked the VM is asleep; it wakes on
  // the PM1 wake event (the RTC alarm with RTC_EN), and then each vCPU
  // resets itself (wake_vcpu) before it runs again.
  void enter_sleep();
  void wake_from_sleep();
  // The state KVM creates a vCPU in, as after INIT (SDM §9.1.1), before any
  // boot state: what a waking vCPU is reset to.
  struct VcpuInitState {
    kvm_regs regs;
    kvm_sregs sregs;
    kvm_lapic_state lapic;
  };
  // machine_vcpus.cc, on the vCPU's thread when the guest wakes: vCPU 0 to
  // real mode at the FACS firmware_waking_vector, the others back to
  // waiting for INIT/SIPI.
  void wake_vcpu(KvmVcpu& vcpu, const VcpuInitState& init) const;

  // Stack of each vCPU of a flat guest, below the previous one's.
  static constexpr uint64_t kFlatStackBytes = 64 * 1024;

  // In construction order. Guest memory, images and host files come before
  // KVM: bad input is reported as such even on a host without KVM, and
  // before anything is created in the kernel.
  const VmConfig config_;
  BootTrace trace_;
  PanicWatch panic_watch_;
  StopController stop_;
  PauseGate pause_gate_{config_.cpus};
  // A vCPU thread signals it when the guest asks for S3; the main thread waits on it.
  EventFd sleep_event_;
  bool asleep_ = false;  // Main thread only: between enter_sleep() and wake_from_sleep().
  RateLimitedLog sleep_log_{"ACPI sleep: "};
  std::atomic<VmState> state_{VmState::kStarting};
  std::atomic<int64_t> started_ns_{0};  // steady_clock, when run() started the vCPUs.
  mutable std::mutex control_mutex_;    // Serialises the control calls.
  // COM1's output: vCPUs append, run()'s poll loop writes (console_output.h).
  ConsoleOutput console_output_{config_.console_output};
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
  const StatsFile stats_file_;
  const std::vector<std::unique_ptr<Vcpu>> vcpus_;
};

}  // namespace kvmm

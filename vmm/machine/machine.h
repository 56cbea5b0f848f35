#pragma once
// The machine: assembles KVM, guest memory, buses, devices and vCPUs from a
// VmConfig (build), then runs the vCPU threads until the guest or a signal
// stops it (run).
//
// Threads: build() and run() are called by the main thread, which owns the
// lifecycle. Each vCPU thread runs Vcpu::run_loop(); devices are reached from
// vCPU threads through the buses and guard their own state.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bus/bus.h"
#include "base/memory/guest_memory.h"
#include "devices/virtio/virtio_device.h"
#include "vmm/boot/linux/linux_boot.h"
#include "vmm/cpu/exit_log.h"
#include "vmm/cpu/run_outcome.h"
#include "vmm/cpu/stop_controller.h"
#include "vmm/cpu/vcpu.h"
#include "vmm/kvm/kvm_system.h"
#include "vmm/machine/boot_trace.h"
#include "vmm/machine/panic_watch.h"
#include "vmm/machine/vm_config.h"

namespace kvmm {

class Uart8250;
class VirtioMmio;
class EventFd;
struct VirtioMmioDevice;

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

 private:
  explicit Machine(const VmConfig& config);
  bool is_linux() const { return linux_.has_value(); }

  // machine.cc
  void load_guest();
  void create_vm();
  // machine_devices.cc
  void add_devices();
  void add_linux_devices();
  // machine_virtio.cc
  size_t virtio_device_count() const;
  void check_virtio_limits() const;
  std::vector<VirtioMmioDevice> virtio_acpi_devices() const;
  std::string virtio_cmdline_devices() const;
  void open_virtio_devices();
  void add_virtio_devices();
  void add_virtio_device(std::unique_ptr<VirtioDevice> device, const std::string& name);
  void stop_virtio_devices();
  // machine_vcpus.cc
  void check_vcpu_limits() const;
  void create_vcpus();
  void set_boot_state(KvmVcpu& vcpu);
  void pin_current_thread(uint32_t vcpu) const;
  // Pinning and --vcpu-sched, on the vCPU thread before it enters the guest.
  void prepare_vcpu_thread(uint32_t vcpu) const;
  bool is_flat_smp() const { return !is_linux() && config_.cpus > 1; }
  // machine.cc: --stats, after every vCPU thread is joined.
  void report_stats() const;

  // Stack of each vCPU of a flat guest, below the previous one's.
  static constexpr uint64_t kFlatStackBytes = 64 * 1024;

  VmConfig config_;
  BootTrace trace_;
  PanicWatch panic_watch_;
  GuestMemory memory_;
  std::optional<LinuxBootInfo> linux_;
  std::optional<KvmSystem> kvm_;
  std::optional<KvmVm> vm_;
  Bus pio_{Bus::Kind::kPio};
  Bus mmio_{Bus::Kind::kMmio};
  StopController stop_;
  std::shared_ptr<Uart8250> serial_;
  std::unique_ptr<ExitLog> exit_log_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  struct PendingVirtio {
    std::unique_ptr<VirtioDevice> device;
    std::string name;
  };
  std::vector<PendingVirtio> pending_virtio_;  // Opened, not yet on the bus.
  std::vector<std::shared_ptr<EventFd>> virtio_irqs_;
  std::vector<std::shared_ptr<VirtioMmio>> virtio_transports_;
};

}  // namespace kvmm

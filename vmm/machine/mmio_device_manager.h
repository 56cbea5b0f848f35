#pragma once
// The virtio-mmio slots (Firecracker's device_manager/mmio.rs): one 4 KiB
// window each in the MMIO hole from kVirtioMmioBase, and one ISA interrupt
// each (edge-triggered, identity-mapped to the IOAPIC in the MADT and the MP
// table, so both ACPI and acpi=off kernels find it). The manager hands out
// the slots and is the one place that describes them to the guest — DSDT
// entries and virtio_mmio.device= parameters — and wires them in KVM: queue
// notifications through ioeventfds, interrupts through irqfds, so a request
// costs the vCPU no exit to kvmm and the I/O thread no ioctl.
//
// Threads: built and registered by the main thread before the vCPUs start;
// after that the transports guard their own state (virtio_mmio.h).
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bus/bus.h"
#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"
#include "base/util/event_fd.h"
#include "devices/virtio/virtio_device.h"
#include "devices/virtio/virtio_mmio.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/acpi/acpi_tables.h"
#include "vmm/boot/linux/kernel_cmdline.h"
#include "vmm/kvm/kvm_vm.h"

namespace kvmm {

// §4.2.2: the register file is 0x100 bytes plus the config space.
inline constexpr uint64_t kVirtioMmioSize = 0x200;
// IRQ 4 is COM1, 8 the RTC a PC would have, 13 the FPU: left alone.
inline constexpr std::array<uint32_t, 9> kVirtioIrqs = {5, 6, 7, 9, 10, 11, 12, 14, 15};

// An opened virtio device, waiting for its slot.
struct VirtioDeviceEntry {
  std::unique_ptr<VirtioDevice> device;
  std::string name;  // "virtio-blk0": log lines and its I/O thread.
  // What the device reports once stopped (a network device's frame
  // counters); empty: nothing.
  std::function<std::string()> exit_summary;
};

class VirtioMmioDevices;

class MmioDeviceManager {
 public:
  struct Slot {
    GuestAddress base;  // The transport's window.
    uint32_t irq = 0;   // Its interrupt: an ISA IRQ and IOAPIC pin.
  };

  // Reserves slots 0..count-1, in order (disks first, then network
  // interfaces). Throws Error for the user when there are more devices than
  // interrupts.
  explicit MmioDeviceManager(size_t count);

  size_t count() const { return count_; }
  static Slot slot(size_t index);

  // The DSDT's LNRO0005 entries, one per slot.
  std::vector<VirtioMmioDevice> acpi_devices() const;
  // virtio_mmio.device=SIZE@BASE:IRQ for each slot, for kernels that cannot
  // read the DSDT (acpi=off).
  void add_cmdline_devices(KernelCmdline& cmdline) const;

  // Gives devices[i] slot i: a transport over `memory`, inserted into `mmio`
  // at its window. Needs no KVM: the eventfds are registered later, once the
  // in-kernel irqchip exists. Throws Error when the count differs (a kvmm bug).
  VirtioMmioDevices create_transports(const GuestMemory& memory, Bus& mmio,
                                      std::vector<VirtioDeviceEntry> devices) const;

 private:
  size_t count_;
};

// The transports in their slots: what the guest's drivers reach.
class VirtioMmioDevices {
 public:
  // KVM_IOEVENTFD for each queue's QueueNotify write, KVM_IRQFD for each
  // interrupt. `vm` needs its in-kernel irqchip.
  void register_eventfds(KvmVm& vm) const;

  // Stops every device (each joins its I/O thread, so after this nothing
  // touches guest memory), then logs what each reports.
  void shutdown();

  // For a VM pause, on the thread pausing it (the vCPUs parked first):
  // pauses every device in slot order; when it returns no device writes
  // guest memory, a disk image or a tap until resume_all(). Each device
  // first finishes the host I/O it has in flight.
  void pause_all();
  void resume_all();

  size_t size() const { return devices_.size(); }

 private:
  friend class MmioDeviceManager;
  struct Placed {
    std::shared_ptr<VirtioMmio> transport;
    std::shared_ptr<EventFd> irq;  // Signalled by the transport; an irqfd.
    MmioDeviceManager::Slot slot;
    std::function<std::string()> exit_summary;
  };
  std::vector<Placed> devices_;
};

}  // namespace kvmm

#pragma once
// A VM fd: memory slots, VM-wide setup, vCPU creation.
#include <linux/kvm.h>

#include <cstdint>
#include <optional>

#include "base/memory/guest_address.h"
#include "base/util/unique_fd.h"
#include "vmm/kvm/kvm_vcpu.h"

namespace kvmm {

class KvmVm {
 public:
  KvmVm(UniqueFd fd, size_t vcpu_mmap_size) : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  int fd() const { return fd_.get(); }

  // KVM_SET_USER_MEMORY_REGION: guest [gpa, gpa+size) is backed by host memory at `host`.
  void set_memory_slot(uint32_t slot, GuestAddress gpa, uint64_t size, void* host);
  // Intel needs three pages for the real-mode TSS and one for the identity
  // page table somewhere the guest does not use (harmless on AMD).
  void set_tss_address(GuestAddress gpa);
  void set_identity_map_address(GuestAddress gpa);

  // The in-kernel PIC, IOAPIC and local APICs; before any vCPU is created.
  void create_irqchip();
  // The in-kernel PIT (i8254); port 0x61's speaker bits are emulated as dummies.
  void create_pit();
  // KVM_GET_IRQCHIP / KVM_SET_IRQCHIP: one in-kernel chip's state
  // (KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE or _IOAPIC in chip.chip_id).
  kvm_irqchip irqchip(uint32_t chip_id) const;
  void set_irqchip(const kvm_irqchip& chip);
  // KVM_GET_PIT2 / KVM_SET_PIT2: the in-kernel PIT's channels.
  kvm_pit_state2 pit_state() const;
  void set_pit_state(const kvm_pit_state2& state);
  // KVM_IRQ_LINE: drives GSI `irq` of the in-kernel irqchip to `level`.
  void set_irq_line(uint32_t irq, bool level);

  // KVM_IOEVENTFD: a guest write to [addr, addr+length) signals `event_fd`
  // inside the kernel, without an exit to kvmm. With `datamatch`, only writes
  // of that value do. length 0 on MMIO matches any access width (what virtio
  // notifications use); PIO needs 1, 2 or 4.
  enum class IoSpace { kPio, kMmio };
  struct IoEvent {
    IoSpace space = IoSpace::kMmio;
    uint64_t addr = 0;
    uint32_t length = 0;
    std::optional<uint64_t> datamatch;
  };
  void add_ioeventfd(int event_fd, const IoEvent& event);
  void remove_ioeventfd(int event_fd, const IoEvent& event);

  // KVM_IRQFD: signalling `event_fd` injects an edge on GSI `gsi` of the
  // in-kernel irqchip, from any thread, without an ioctl per interrupt.
  void add_irqfd(int event_fd, uint32_t gsi);

  // KVM_ENABLE_CAP(KVM_CAP_HALT_POLL): the most a halted vCPU of this VM
  // polls before it sleeps (the VM's own kvm.halt_poll_ns).
  void set_max_halt_poll_ns(uint32_t ns);

  KvmVcpu create_vcpu(uint32_t index);

 private:
  UniqueFd fd_;
  size_t vcpu_mmap_size_;
};

}  // namespace kvmm

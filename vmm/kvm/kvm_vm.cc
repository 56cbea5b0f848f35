#include "vmm/kvm/kvm_vm.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <string>

#include "base/util/error.h"
#include "base/util/format.h"

namespace kvmm {

void KvmVm::set_memory_slot(uint32_t slot, GuestAddress gpa, uint64_t size, void* host) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.guest_phys_addr = gpa.value;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (::ioctl(fd(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    throw_errno("KVM_SET_USER_MEMORY_REGION (slot " + std::to_string(slot) + " at " +
                hex(gpa.value) + ", " + std::to_string(size >> 20) + " MiB) failed");
  }
}

void KvmVm::set_tss_address(GuestAddress gpa) {
  if (::ioctl(fd(), KVM_SET_TSS_ADDR, gpa.value) < 0) throw_errno("KVM_SET_TSS_ADDR failed");
}

void KvmVm::set_identity_map_address(GuestAddress gpa) {
  uint64_t addr = gpa.value;
  if (::ioctl(fd(), KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) {
    throw_errno("KVM_SET_IDENTITY_MAP_ADDR failed");
  }
}

void KvmVm::create_irqchip() {
  if (::ioctl(fd(), KVM_CREATE_IRQCHIP, 0) < 0) throw_errno("KVM_CREATE_IRQCHIP failed");
}

void KvmVm::create_pit() {
  kvm_pit_config config{};
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  if (::ioctl(fd(), KVM_CREATE_PIT2, &config) < 0) throw_errno("KVM_CREATE_PIT2 failed");
}

kvm_irqchip KvmVm::irqchip(uint32_t chip_id) const {
  kvm_irqchip chip{};
  chip.chip_id = chip_id;
  if (::ioctl(fd(), KVM_GET_IRQCHIP, &chip) < 0) {
    throw_errno("KVM_GET_IRQCHIP (chip " + std::to_string(chip_id) + ") failed");
  }
  return chip;
}

void KvmVm::set_irqchip(const kvm_irqchip& chip) {
  if (::ioctl(fd(), KVM_SET_IRQCHIP, &chip) < 0) {
    throw_errno("KVM_SET_IRQCHIP (chip " + std::to_string(chip.chip_id) + ") failed");
  }
}

kvm_pit_state2 KvmVm::pit_state() const {
  kvm_pit_state2 state{};
  if (::ioctl(fd(), KVM_GET_PIT2, &state) < 0) throw_errno("KVM_GET_PIT2 failed");
  return state;
}

void KvmVm::set_pit_state(const kvm_pit_state2& state) {
  if (::ioctl(fd(), KVM_SET_PIT2, &state) < 0) throw_errno("KVM_SET_PIT2 failed");
}

void KvmVm::set_irq_line(uint32_t irq, bool level) {
  kvm_irq_level line{};
  line.irq = irq;
  line.level = level ? 1 : 0;
  // Called from device code on vCPU and I/O threads; failing here is a kvmm
  // bug (bad GSI), so report it loudly rather than silently losing interrupts.
  if (::ioctl(fd(), KVM_IRQ_LINE, &line) < 0) throw_errno("KVM_IRQ_LINE " + std::to_string(irq));
}

namespace {

kvm_ioeventfd to_kvm(int event_fd, const KvmVm::IoEvent& event) {
  kvm_ioeventfd request{};
  request.fd = event_fd;
  request.addr = event.addr;
  request.len = event.length;
  if (event.space == KvmVm::IoSpace::kPio) request.flags |= KVM_IOEVENTFD_FLAG_PIO;
  if (event.datamatch) {
    request.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    request.datamatch = *event.datamatch;
  }
  return request;
}

}  // namespace

void KvmVm::add_ioeventfd(int event_fd, const IoEvent& event) {
  kvm_ioeventfd request = to_kvm(event_fd, event);
  if (::ioctl(fd(), KVM_IOEVENTFD, &request) < 0) {
    throw_errno(std::string("KVM_IOEVENTFD at ") +
                (event.space == IoSpace::kPio ? "port " : "address ") + hex(event.addr) +
                " failed");
  }
}

void KvmVm::remove_ioeventfd(int event_fd, const IoEvent& event) {
  kvm_ioeventfd request = to_kvm(event_fd, event);
  request.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
  if (::ioctl(fd(), KVM_IOEVENTFD, &request) < 0) {
    throw_errno("KVM_IOEVENTFD deassign at " + hex(event.addr) + " failed");
  }
}

void KvmVm::add_irqfd(int event_fd, uint32_t gsi) {
  kvm_irqfd request{};
  request.fd = static_cast<uint32_t>(event_fd);
  request.gsi = gsi;
  if (::ioctl(fd(), KVM_IRQFD, &request) < 0) {
    throw_errno("KVM_IRQFD for GSI " + std::to_string(gsi) + " failed");
  }
}

void KvmVm::set_max_halt_poll_ns(uint32_t ns) {
  kvm_enable_cap cap{};
  cap.cap = KVM_CAP_HALT_POLL;
  cap.args[0] = ns;
  if (::ioctl(fd(), KVM_ENABLE_CAP, &cap) < 0) {
    throw_errno("KVM_ENABLE_CAP(KVM_CAP_HALT_POLL, " + std::to_string(ns) + ") failed");
  }
}

KvmVcpu KvmVm::create_vcpu(uint32_t index) {
  int fd = ::ioctl(this->fd(), KVM_CREATE_VCPU, index);
  if (fd < 0) throw_errno("KVM_CREATE_VCPU " + std::to_string(index) + " failed");
  UniqueFd vcpu_fd(fd);
  MmapRegion run = MmapRegion::shared_fd(fd, vcpu_mmap_size_, "the vCPU's kvm_run area");
  return KvmVcpu(index, std::move(vcpu_fd), std::move(run));
}

}  // namespace kvmm

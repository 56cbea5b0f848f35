#include "vmm/kvm/kvm_vcpu.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "base/util/error.h"
#include "base/util/format.h"
#include "vmm/kvm/kvm_abi.h"

namespace kvmm {

// [[gnu::hot]]: the exit path's functions share a few pages of code
// (.text.hot), which matters where every exit flushes the TLB (nested KVM).
[[gnu::hot]] KvmVcpu::RunResult KvmVcpu::run() {
  if (::ioctl(fd(), KVM_RUN, 0) == 0) return RunResult::kExit;
  if (errno == EINTR || errno == EAGAIN) return RunResult::kInterrupted;
  throw_errno("KVM_RUN on vCPU " + std::to_string(index_) + " failed");
}

std::optional<uint32_t> KvmVcpu::tsc_khz_if_known() const {
  const int khz = ::ioctl(fd(), KVM_GET_TSC_KHZ, 0);
  if (khz <= 0) return std::nullopt;
  return static_cast<uint32_t>(khz);
}

kvm_regs KvmVcpu::regs() const {
  kvm_regs r{};
  if (::ioctl(fd(), KVM_GET_REGS, &r) < 0) throw_errno("KVM_GET_REGS failed");
  return r;
}

void KvmVcpu::set_regs(const kvm_regs& r) {
  if (::ioctl(fd(), KVM_SET_REGS, &r) < 0) throw_errno("KVM_SET_REGS failed");
}

kvm_sregs KvmVcpu::sregs() const {
  kvm_sregs s{};
  if (::ioctl(fd(), KVM_GET_SREGS, &s) < 0) throw_errno("KVM_GET_SREGS failed");
  return s;
}

void KvmVcpu::set_sregs(const kvm_sregs& s) {
  if (::ioctl(fd(), KVM_SET_SREGS, &s) < 0) throw_errno("KVM_SET_SREGS failed");
}

void KvmVcpu::set_cpuid(std::span<const uint8_t> buffer) {
  if (::ioctl(fd(), kKvmSetCpuid2, buffer.data()) < 0) throw_errno("KVM_SET_CPUID2 failed");
}

}  // namespace kvmm

namespace kvmm {

void KvmVcpu::set_msrs(std::span<const kvm_msr_entry> msrs) {
  std::vector<uint8_t> buffer(sizeof(KvmMsrsHeader) + msrs.size_bytes());
  KvmMsrsHeader header{static_cast<uint32_t>(msrs.size()), 0};
  std::memcpy(buffer.data(), &header, sizeof header);
  std::memcpy(buffer.data() + sizeof header, msrs.data(), msrs.size_bytes());
  // KVM_SET_MSRS returns how many it set, stopping at the first it refuses.
  const int set = ::ioctl(fd(), kKvmSetMsrs, buffer.data());
  if (set < 0) throw_errno("KVM_SET_MSRS failed");
  if (static_cast<size_t>(set) < msrs.size()) {
    throw Error("KVM refused to set MSR " + hex(msrs[static_cast<size_t>(set)].index) +
                " on vCPU " + std::to_string(index_));
  }
}

void KvmVcpu::set_fpu(const kvm_fpu& fpu) {
  if (::ioctl(fd(), KVM_SET_FPU, &fpu) < 0) throw_errno("KVM_SET_FPU failed");
}

kvm_lapic_state KvmVcpu::lapic() const {
  kvm_lapic_state state{};
  if (::ioctl(fd(), KVM_GET_LAPIC, &state) < 0) throw_errno("KVM_GET_LAPIC failed");
  return state;
}

void KvmVcpu::set_lapic(const kvm_lapic_state& state) {
  if (::ioctl(fd(), KVM_SET_LAPIC, &state) < 0) throw_errno("KVM_SET_LAPIC failed");
}

void KvmVcpu::set_mp_state(uint32_t state) {
  kvm_mp_state mp{};
  mp.mp_state = state;
  if (::ioctl(fd(), KVM_SET_MP_STATE, &mp) < 0) throw_errno("KVM_SET_MP_STATE failed");
}

uint32_t KvmVcpu::tsc_khz() const {
  const int khz = ::ioctl(fd(), KVM_GET_TSC_KHZ, 0);
  if (khz <= 0) throw_errno("KVM_GET_TSC_KHZ failed");
  return static_cast<uint32_t>(khz);
}

}  // namespace kvmm

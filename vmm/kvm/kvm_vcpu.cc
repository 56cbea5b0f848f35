#include "vmm/kvm/kvm_vcpu.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <string>

#include "vmm/kvm/kvm_abi.h"
#include "vmm/util/error.h"

namespace kvmm {

KvmVcpu::RunResult KvmVcpu::run() {
  if (::ioctl(fd(), KVM_RUN, 0) == 0) return RunResult::kExit;
  if (errno == EINTR || errno == EAGAIN) return RunResult::kInterrupted;
  throw_errno("KVM_RUN on vCPU " + std::to_string(index_) + " failed");
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

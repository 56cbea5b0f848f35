#pragma once
// The KVM system fd (/dev/kvm): version and capability queries, VM creation.
#include <linux/kvm.h>

#include <string>
#include <vector>

#include "base/util/unique_fd.h"
#include "vmm/kvm/kvm_vm.h"

namespace kvmm {

struct Capability {
  int id;
  const char* name;  // e.g. "KVM_CAP_USER_MEMORY"
  const char* why;   // what kvmm needs it for
};

// The kernel module that provides /dev/kvm ("kvm_intel", "kvm_amd", the
// paravirtual "kvm_pvm"), from /sys/module; "" when none is recognised.
std::string kvm_backend_module();

// Every capability kvmm relies on. Checked at start so a missing one is named
// up front instead of failing later with a bare errno.
const std::vector<Capability>& required_capabilities();

class KvmSystem {
 public:
  static constexpr int kApiVersion = 12;  // The only stable KVM API ever released.

  // Opens the KVM device (KVMM_KVM_DEVICE overrides the path /dev/kvm) and
  // checks the API version. Throws Error that says why and how to fix it.
  static KvmSystem open();
  static std::string device_path();

  int fd() const { return fd_.get(); }
  int api_version() const;
  // KVM_CHECK_EXTENSION: 0 when absent, otherwise a capability-specific value.
  int check_extension(int capability) const;
  // Throws naming the first missing capability.
  void require_capabilities() const;
  size_t vcpu_mmap_size() const;
  int max_vcpus() const;
  // KVM_GET_SUPPORTED_CPUID, as a buffer holding a kvm_cpuid2 in the C layout
  // (KvmCpuid2Header, then the entries; see kvm_abi.h).
  std::vector<uint8_t> supported_cpuid() const;

  KvmVm create_vm() const;

 private:
  explicit KvmSystem(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace kvmm

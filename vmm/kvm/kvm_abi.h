#pragma once
// KVM structures whose C++ view from <linux/kvm.h> is wrong.
//
// linux-libc-dev 6.1 declares flexible array members with
// __DECLARE_FLEX_ARRAY, which in C++ wraps them next to an empty struct. An
// empty struct has size 1 in C++ (0 in C), so sizeof(kvm_cpuid2) is 12 instead
// of 8 and `entries` sits at offset 12. Both the entry offset and the ioctl
// numbers (which encode the struct size) then differ from what the kernel
// expects, and KVM_GET_SUPPORTED_CPUID fails with EINVAL. kvmm uses the C
// layout below instead.
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace kvmm {

struct KvmCpuid2Header {  // struct kvm_cpuid2 without its entries
  uint32_t nent;
  uint32_t padding;
};
static_assert(sizeof(KvmCpuid2Header) == 8);

inline constexpr unsigned long kKvmGetSupportedCpuid = _IOWR(KVMIO, 0x05, KvmCpuid2Header);
inline constexpr unsigned long kKvmSetCpuid2 = _IOW(KVMIO, 0x90, KvmCpuid2Header);

struct KvmMsrsHeader {  // struct kvm_msrs without its entries
  uint32_t nmsrs;
  uint32_t pad;
};
static_assert(sizeof(KvmMsrsHeader) == 8);

inline constexpr unsigned long kKvmSetMsrs = _IOW(KVMIO, 0x89, KvmMsrsHeader);

}  // namespace kvmm

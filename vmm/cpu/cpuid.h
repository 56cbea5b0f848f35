#pragma once
// The CPUID a vCPU sees: what KVM supports (KVM_GET_SUPPORTED_CPUID), with
// each vCPU's APIC ID and the VM's topology written in, so the guest counts
// `cpu_count` single-threaded cores in one package, and the host's processor
// brand string where KVM left it out.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace kvmm {

// The processor brand string, 48 bytes of ASCII (NUL-padded), as CPUID
// leaves 0x80000002-0x80000004 return it: EAX, EBX, ECX, EDX of each.
using CpuBrand = std::array<uint32_t, 12>;

// This host's, from the cpuid instruction; all zero where it has none.
CpuBrand host_cpu_brand();

// `supported` and the result are kvm_cpuid2 buffers in the C layout
// (KvmCpuid2Header, then kvm_cpuid_entry2 entries; see kvm_abi.h).
// Leaves 0x80000002-0x80000004, when KVM reports them missing or all zero,
// get `brand` (unless it is all zero too): without them Linux's /proc/cpuinfo shows
// "model name : 17/01" (family/model) instead of the processor's name.
std::vector<uint8_t> cpuid_for_vcpu(std::span<const uint8_t> supported, uint32_t vcpu_index,
                                    uint32_t cpu_count, const CpuBrand& brand);

// Sets the TSC-deadline bit (CPUID.01H:ECX[24], SDM §10.5.4.1). KVM emulates
// the TSC-deadline timer with its in-kernel local APIC on every host
// (KVM_CAP_TSC_DEADLINE_TIMER) but leaves the bit out of
// KVM_GET_SUPPORTED_CPUID: a VMM with the in-kernel irqchip sets it itself,
// and only then does KVM accept IA32_TSC_DEADLINE writes. A Linux guest that
// sees it skips calibrating the APIC timer at boot.
void add_tsc_deadline(std::vector<uint8_t>& cpuid);

}  // namespace kvmm

#pragma once
// The CPUID a vCPU sees: what KVM supports (KVM_GET_SUPPORTED_CPUID), with
// each vCPU's APIC ID and the VM's topology written in, so the guest counts
// `cpu_count` single-threaded cores in one package.
#include <cstdint>
#include <span>
#include <vector>

namespace kvmm {

// `supported` and the result are kvm_cpuid2 buffers in the C layout
// (KvmCpuid2Header, then kvm_cpuid_entry2 entries; see kvm_abi.h).
std::vector<uint8_t> cpuid_for_vcpu(std::span<const uint8_t> supported, uint32_t vcpu_index,
                                    uint32_t cpu_count);

// Sets the TSC-deadline bit (CPUID.01H:ECX[24], SDM §10.5.4.1). KVM emulates
// the TSC-deadline timer with its in-kernel local APIC on every host
// (KVM_CAP_TSC_DEADLINE_TIMER) but leaves the bit out of
// KVM_GET_SUPPORTED_CPUID: a VMM with the in-kernel irqchip sets it itself,
// and only then does KVM accept IA32_TSC_DEADLINE writes. A Linux guest that
// sees it skips calibrating the APIC timer at boot.
void add_tsc_deadline(std::vector<uint8_t>& cpuid);

}  // namespace kvmm

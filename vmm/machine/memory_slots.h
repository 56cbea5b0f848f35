#pragma once
// Guest memory as KVM sees it, for every VM kvmm builds (`kvmm run` and the
// exit benchmark's VM).
#include "base/memory/guest_memory.h"
#include "vmm/kvm/kvm_vm.h"

namespace kvmm {

// Gives `vm` the x86 layout (vmm/arch/x86/layout.h): KVM's identity-map page
// and TSS at their addresses, and one memory slot per RAM region of `memory`
// (GPA -> HVA). Throws Error when KVM refuses.
void map_guest_memory(KvmVm& vm, const GuestMemory& memory);

}  // namespace kvmm

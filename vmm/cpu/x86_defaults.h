#pragma once
// Register state every vCPU gets before a kernel boots on it, whatever the
// entry protocol: MSRs, FPU, and the local APIC's LINT pins.
#include <linux/kvm.h>

#include <vector>

namespace kvmm {

// MSRs the firmware would leave set: syscall MSRs cleared, fast strings on,
// and MTRRs enabled with write-back as the default type — without that the
// guest maps all RAM uncached and runs many times slower.
std::vector<kvm_msr_entry> boot_msrs();

// x87 control word and MXCSR at their power-on values.
kvm_fpu boot_fpu();

// LINT0 as ExtINT (the PIC's output) and LINT1 as NMI, as PC firmware wires
// them; Linux expects this when it starts with the PIC in charge.
void set_lint_pins(kvm_lapic_state& lapic);

}  // namespace kvmm

#pragma once
// Human-readable guest registers, printed when a guest crashes.
#include <linux/kvm.h>

#include <string>

namespace kvmm {

// Registers in the x86 reset state get a line that says so: KVM on AMD
// resets a vCPU that shut down (triple fault) before it reports the exit.
std::string format_registers(const kvm_regs& regs, const kvm_sregs& sregs);

// rip 0xfff0 in real mode with cs 0xf000 based at 0xffff0000: what RESET
// and INIT leave.
bool is_reset_state(const kvm_regs& regs, const kvm_sregs& sregs);

}  // namespace kvmm

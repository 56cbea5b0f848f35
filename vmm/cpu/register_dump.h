#pragma once
// Human-readable guest registers, printed when a guest crashes.
#include <linux/kvm.h>

#include <string>

namespace kvmm {

std::string format_registers(const kvm_regs& regs, const kvm_sregs& sregs);

}  // namespace kvmm

#pragma once
// The command line each kind of kernel gets from `kvmm run`'s --cmdline and
// --append (docs/linux-guests.md): one place that says what kvmm adds.
#include <string>

#include "vmm/boot/linux/kernel_cmdline.h"
#include "vmm/machine/vm_config.h"

namespace kvmm {

// A Linux kernel's: --cmdline (or kvmm's default line), then --append.
// Throws Error for a NUL byte or a newline.
KernelCmdline linux_cmdline(const VmConfig& config);

// A Multiboot kernel's (kvm-unit-tests): --cmdline, then --append; never
// kvmm's default Linux line, which would become the test's arguments.
std::string multiboot_cmdline(const VmConfig& config);

// Whether a Linux guest's serial console will be silent: --cmdline replaced
// the default line and `line` (the whole of it) has no console=.
bool linux_console_silent(const VmConfig& config, const KernelCmdline& line);

}  // namespace kvmm

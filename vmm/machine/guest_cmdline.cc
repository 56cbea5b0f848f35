#include "vmm/machine/guest_cmdline.h"

namespace kvmm {

KernelCmdline linux_cmdline(const VmConfig& config) {
  return KernelCmdline(join_cmdline(config.cmdline, config.cmdline_append));
}

std::string multiboot_cmdline(const VmConfig& config) {
  return join_cmdline(config.cmdline_given ? config.cmdline : "", config.cmdline_append);
}

bool linux_console_silent(const VmConfig& config, const KernelCmdline& line) {
  return config.cmdline_given && !line.has_key("console");
}

}  // namespace kvmm

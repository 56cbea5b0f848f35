#pragma once
// The API's JSON bodies (docs/api.md has the schemas), through kvmm's one
// JSON writer.
#include <string>
#include <string_view>

#include "app/api/vm_control.h"

namespace kvmm {

// GET vm.info: name, pid, state, uptime, API socket, config, vCPU threads.
std::string format_vm_info(const VmStatus& status);
// GET vmm.ping.
std::string format_ping(const VmStatus& status, std::string_view version);

}  // namespace kvmm

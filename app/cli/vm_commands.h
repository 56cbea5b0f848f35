#pragma once
// kvmm list|info|pause|resume|shutdown|destroy|stats: each a client of the
// running VM's API (docs/api.md), with virsh's names and outputs.
#include <ostream>

#include "app/cli/options.h"

namespace kvmm {

// Prints to `out`; returns the exit status. Throws Error (status 1) for the
// user: no such VM, a refusal by the VM (its message).
int run_manage_command(const ManageCommand& command, std::ostream& out);

}  // namespace kvmm

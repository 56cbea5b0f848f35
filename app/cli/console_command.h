#pragma once
// `kvmm console NAME`: the VM's serial console on this terminal, through
// RUNDIR/NAME.console (app/api/console_relay.h), as `virsh console`.
#include <string>

namespace kvmm {

// Relays stdin to the guest and the guest to stdout until Ctrl-] (or the end
// of stdin) detaches, or the VM ends. Returns the exit status; throws Error
// when there is no console to attach to.
int attach_console(const std::string& name);

}  // namespace kvmm

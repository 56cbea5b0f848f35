#pragma once
// Where running VMs are found: RUNDIR/NAME.sock, one API socket per VM.
// RUNDIR is /run/kvmm for root and $XDG_RUNTIME_DIR/kvmm for anyone else
// (the per-user directory systemd-logind makes), as libvirt's qemu:///session
// and podman place theirs; KVMM_RUN_DIR overrides it (tests, and hosts
// without XDG_RUNTIME_DIR).
#include <filesystem>
#include <string_view>

namespace kvmm {

// Throws Error when neither root nor XDG_RUNTIME_DIR nor KVMM_RUN_DIR says.
std::filesystem::path run_dir();

// Creates `dir` (and its parent) 0700 if missing; throws Error unless it is
// a directory owned by this user, not a symbolic link, that no one else may
// enter: a socket in a directory others can write could be swapped.
void ensure_private_dir(const std::filesystem::path& dir);

// A VM name: 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'. Throws
// Error naming the rule.
void check_vm_name(std::string_view name);

// RUNDIR/NAME.sock.
std::filesystem::path socket_path_for(std::string_view name);

}  // namespace kvmm

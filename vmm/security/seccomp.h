#pragma once
// Confines kvmm's threads with seccomp filters (one per ThreadRole, lists in
// seccomp_filters.h) and hardens the process: no new privileges, not
// dumpable, no core file. docs/security.md has the threat model.
//
// Each thread loads its own filter in itself, once every fd it uses is open:
// a filter is inherited by the threads its thread creates afterwards, so the
// main thread, which starts the vCPUs, loads its filter last.
//
// Threads: prepare_seccomp() on the main thread before any other thread
// exists; install_thread_filter() by each thread for itself.
#include <string_view>

#include "base/util/thread_role.h"
#include "vmm/security/seccomp_filters.h"

namespace kvmm {

enum class SeccompMode {
  kOff,  // No filters and no hardening: strace and gdb work.
  kLog,  // A call outside the filter is allowed and logged by the kernel (audit).
  kOn,   // A call outside the filter stops kvmm with the thread's name and the call.
};

// "on", "log", "off"; the parser for --seccomp.
std::string_view seccomp_mode_name(SeccompMode mode);

// Process-wide, before any thread is started: PR_SET_NO_NEW_PRIVS,
// PR_SET_DUMPABLE 0, RLIMIT_CORE 0, the SIGSYS handler that names the thread
// and the call, and the thread-start hook through which devices' threads load
// their filters. Nothing with kOff. Throws Error when the kernel refuses.
void prepare_seccomp(SeccompMode mode, const FilterNeeds& needs);

// Loads `role`'s filter in the calling thread; nothing unless
// prepare_seccomp() was called with kOn or kLog. Throws Error when the
// kernel refuses.
void install_thread_filter(ThreadRole role);

// The name of system call `number` on this machine ("ioctl"), or "" if unknown.
std::string_view syscall_name(int number);

}  // namespace kvmm

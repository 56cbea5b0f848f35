#pragma once
// The seccomp filter of each thread role: which system calls it may make, and
// for ioctl(2) and prctl(2) which requests. Pure data, so the tables are unit
// tested without loading anything (tests/unit/seccomp_filters_test.cc); the
// installer is vmm/security/seccomp.h. docs/security.md explains each list.
//
// A filter is inherited by every thread its thread creates, and stacked filters
// all apply. The virtio I/O threads a vCPU thread asks for when the guest's
// driver sets DRIVER_OK are started by the launcher thread
// (base/util/thread_launcher.h), so the launcher's filter holds what those
// threads need and the vCPU's only what the vCPU does; each I/O thread then
// narrows itself to its own list.
#include <optional>
#include <string_view>
#include <vector>

#include "base/util/thread_role.h"

namespace kvmm {

// What the run needs beyond the fixed lists.
struct FilterNeeds {
  // --stats or --stats-file: a vCPU opens its /proc schedstat at exit, the
  // main thread writes the statistics file after the join.
  bool stats = false;
  // An API socket: the main thread unlinks it at exit.
  bool api_socket = false;
  // --jail: the disks' blk-worker threads and --net user's slirp threads,
  // which run before the jail, take part in glibc's setxid broadcast
  // (vmm/security/jail.h).
  bool jail = false;
};

struct RoleFilter {
  std::vector<int> syscalls;              // Allowed with any arguments.
  std::vector<unsigned long> ioctls;      // ioctl(2) allowed with these requests only.
  std::vector<int> prctl_options;         // prctl(2) allowed with these options only.
  std::vector<int> sigaction_signals;     // rt_sigaction(2) allowed for these signals only.
  // The call on the thread's hot path (a vCPU's ioctl, for KVM_RUN), which
  // the filter tests before any other: every exit to kvmm pays for the
  // comparisons in front of it.
  std::optional<int> hot_syscall;
};

RoleFilter role_filter(ThreadRole role, const FilterNeeds& needs);

// "main", "vcpu", "virtio-blk", "blk-worker", "virtio-net", "vhost-net",
// "api", "slirp", "launcher".
std::string_view role_name(ThreadRole role);

}  // namespace kvmm

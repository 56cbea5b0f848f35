#pragma once
// The io_uring of one disk, locked down before its first use: the disk's fd
// is registered as fixed file 0 and, where the kernel has
// IORING_REGISTER_RESTRICTIONS (Linux 5.10), the ring accepts only the
// opcodes the block engine submits (readv, writev, fsync, fallocate, and
// async-cancel for its own requests), only
// on a fixed file (IOSQE_FIXED_FILE required), and no further io_uring_register
// call at all. seccomp cannot see what a ring does, so this is what keeps a
// compromised I/O thread from opening, reading or writing other files
// through it.
#include <liburing.h>

#include <string>

#include "devices/virtio/block/block_io.h"

namespace kvmm {

// Whether the ring carries the restrictions.
enum class RingRestrictions { kApplied, kUnavailable };

// Initialises `ring` with `depth` entries for the disk `fd`, which becomes
// fixed file 0 (submit with IOSQE_FIXED_FILE and fd index 0), and registers
// `completion_fd`, an eventfd the kernel signals on each completion
// (registered before the lockdown, which refuses it afterwards). Where the
// kernel lacks IORING_SETUP_R_DISABLED or the restrictions (EINVAL), the ring
// works unrestricted and the result says so. Throws Error when no ring can
// be set up; on success the caller owns the ring (io_uring_queue_exit).
[[nodiscard]] RingRestrictions open_disk_ring(io_uring& ring, int fd, unsigned depth,
                                              int completion_fd, RingLockdown lockdown);

// Whether this kernel gives kvmm an io_uring: a one-entry ring set up and
// torn down. "" when it does, else why not (strerror, and the sysctl that
// turns io_uring off where it is set), for `kvmm check`.
std::string io_uring_unavailable_reason();

}  // namespace kvmm

#include "devices/virtio/block/io_uring_ring.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/util/error.h"

namespace kvmm {

namespace {

[[noreturn]] void fail(io_uring& ring, const char* call, int err) {
  io_uring_queue_exit(&ring);
  throw Error(std::string(call) + " failed for the disk's io_uring: " + std::strerror(-err));
}

// io_uring_register(2) itself: Debian 12's liburing.so.2.3 declares
// io_uring_register_restrictions and io_uring_enable_rings but does not
// export them (its liburing.a does), so a link against the shared library
// fails. Returns 0 or -errno, as liburing does.
int register_call(io_uring& ring, unsigned opcode, const void* arg, unsigned count) {
  const long r = ::syscall(__NR_io_uring_register, ring.ring_fd, opcode, arg, count);
  return r < 0 ? -errno : 0;
}

// The opcodes io_uring_block_io.cc submits, and nothing else: prepare()'s
// four, and ASYNC_CANCEL for reset and shutdown. A cancel names no file, yet
// IORING_RESTRICTION_SQE_FLAGS_REQUIRED applies to every SQE whatever its
// opcode (io_check_restriction), so the engine's cancels carry
// IOSQE_FIXED_FILE too: ASYNC_CANCEL accepts the flag, and without
// IORING_ASYNC_CANCEL_FD it only matches by user_data, so the flag changes
// nothing. A cancel reaches only this ring's own requests; it cannot touch a
// file.
constexpr unsigned char kAllowedOps[] = {IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
                                         IORING_OP_FALLOCATE, IORING_OP_ASYNC_CANCEL};

}  // namespace

std::string io_uring_unavailable_reason() {
  io_uring ring{};
  const int err = io_uring_queue_init(1, &ring, 0);
  if (err == 0) {
    io_uring_queue_exit(&ring);
    return "";
  }
  std::string why = std::strerror(-err);
  // Linux 6.6: 1 allows only the io_uring_group, 2 no one.
  std::string disabled;
  if (FILE* file = std::fopen("/proc/sys/kernel/io_uring_disabled", "re")) {
    char value[8] = {};
    if (std::fgets(value, sizeof value, file) != nullptr) disabled = value;
    std::fclose(file);
  }
  if (!disabled.empty() && disabled[0] != '0') {
    why += " (sysctl kernel.io_uring_disabled=" + disabled.substr(0, 1) + ")";
  }
  return why;
}

RingRestrictions open_disk_ring(io_uring& ring, int fd, unsigned depth, int completion_fd,
                                RingLockdown lockdown) {
  // A disabled ring takes restrictions and accepts no submission until
  // enabled (io_uring_register(2), IORING_REGISTER_ENABLE_RINGS).
  io_uring_params params{};
  params.flags = lockdown == RingLockdown::kRestrict ? IORING_SETUP_R_DISABLED : 0;
  int err = io_uring_queue_init_params(depth, &ring, &params);
  bool disabled = params.flags != 0;
  if (err == -EINVAL && disabled) {
    // Before Linux 5.10 the flag is unknown.
    params = io_uring_params{};
    err = io_uring_queue_init_params(depth, &ring, &params);
    disabled = false;
  }
  if (err < 0) throw Error(std::string("io_uring_queue_init failed: ") + std::strerror(-err));

  if (const int e = io_uring_register_files(&ring, &fd, 1); e < 0) {
    fail(ring, "io_uring_register_files", e);
  }
  if (const int e = io_uring_register_eventfd(&ring, completion_fd); e < 0) {
    fail(ring, "io_uring_register_eventfd", e);
  }
  if (!disabled) return RingRestrictions::kUnavailable;

  io_uring_restriction rules[std::size(kAllowedOps) + 2]{};
  unsigned n = 0;
  for (const unsigned char op : kAllowedOps) {
    rules[n].opcode = IORING_RESTRICTION_SQE_OP;
    rules[n++].sqe_op = op;
  }
  rules[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
  rules[n++].sqe_flags = IOSQE_FIXED_FILE;
  // Allowed besides the required: none (no links, drains or async hints).
  rules[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
  rules[n++].sqe_flags = 0;
  // No IORING_RESTRICTION_REGISTER_OP: once enabled, every register call
  // (more files, buffers, eventfds, personalities) is refused.
  const int restricted = register_call(ring, IORING_REGISTER_RESTRICTIONS, rules, n);
  if (restricted < 0 && restricted != -EINVAL) fail(ring, "IORING_REGISTER_RESTRICTIONS", restricted);
  if (const int e = register_call(ring, IORING_REGISTER_ENABLE_RINGS, nullptr, 0); e < 0) {
    fail(ring, "IORING_REGISTER_ENABLE_RINGS", e);
  }
  return restricted < 0 ? RingRestrictions::kUnavailable : RingRestrictions::kApplied;
}

}  // namespace kvmm

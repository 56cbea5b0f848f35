// devices/virtio/block/io_uring_ring.h: the disk's io_uring takes the
// engine's opcodes on the disk and refuses everything else in the kernel.
#include "devices/virtio/block/io_uring_ring.h"

#include <fcntl.h>
#include <sys/uio.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

#include "base/util/event_fd.h"
#include "base/util/unique_fd.h"
#include "tests/unit/virtio/block_test_support.h"

using namespace kvmm;
using kvmm::testing::Bytes;
using kvmm::testing::TempImage;

namespace {

// Submits the one prepared SQE and returns its CQE's result.
int complete_one(io_uring& ring) {
  REQUIRE(io_uring_submit(&ring) == 1);
  io_uring_cqe* cqe = nullptr;
  REQUIRE(io_uring_wait_cqe(&ring, &cqe) == 0);
  const int result = cqe->res;
  io_uring_cqe_seen(&ring, cqe);
  return result;
}

struct Ring {
  io_uring ring{};
  EventFd done;
  RingRestrictions restrictions;
  Ring(int fd, RingLockdown lockdown)
      : restrictions(open_disk_ring(ring, fd, 4, done.get(), lockdown)) {}
  ~Ring() { io_uring_queue_exit(&ring); }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
};

}  // namespace

TEST_CASE("the disk's io_uring refuses other opcodes, other files and further registration") {
  if (!io_uring_supported()) {
    WARN("io_uring is unavailable here; nothing to restrict");
    return;
  }
  TempImage disk(Bytes(512, 7));
  TempImage other(Bytes(512, 9));
  UniqueFd disk_fd(::open(disk.path.c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd other_fd(::open(other.path.c_str(), O_RDONLY | O_CLOEXEC));
  Ring r(disk_fd.get(), RingLockdown::kRestrict);
  if (r.restrictions == RingRestrictions::kUnavailable) {
    WARN("this kernel has no IORING_REGISTER_RESTRICTIONS (Linux 5.10); the ring is unrestricted");
    return;
  }
  uint8_t buffer[512] = {};
  iovec iov{buffer, sizeof buffer};

  // The engine's own read: fixed file 0, the disk.
  io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
  io_uring_prep_readv(sqe, 0, &iov, 1, 0);
  sqe->flags |= IOSQE_FIXED_FILE;
  CHECK(complete_one(r.ring) == 512);
  CHECK(buffer[0] == 7);

  // The same read on a plain fd, not the fixed file.
  sqe = io_uring_get_sqe(&r.ring);
  io_uring_prep_readv(sqe, other_fd.get(), &iov, 1, 0);
  CHECK(complete_one(r.ring) == -EACCES);

  // An opcode the engine never submits.
  sqe = io_uring_get_sqe(&r.ring);
  io_uring_prep_openat(sqe, AT_FDCWD, other.path.c_str(), O_RDONLY, 0);
  CHECK(complete_one(r.ring) == -EACCES);
  sqe = io_uring_get_sqe(&r.ring);
  io_uring_prep_read(sqe, 0, buffer, sizeof buffer, 0);
  sqe->flags |= IOSQE_FIXED_FILE;
  CHECK(complete_one(r.ring) == -EACCES);

  // A cancel, as the engine sends one on reset: allowed with
  // IOSQE_FIXED_FILE, which the lockdown requires on every entry, even one
  // that names no file (nothing has this user_data: -ENOENT); refused
  // without it.
  sqe = io_uring_get_sqe(&r.ring);
  io_uring_prep_cancel64(sqe, 12345, 0);
  sqe->flags |= IOSQE_FIXED_FILE;
  CHECK(complete_one(r.ring) == -ENOENT);
  sqe = io_uring_get_sqe(&r.ring);
  io_uring_prep_cancel64(sqe, 12345, 0);
  CHECK(complete_one(r.ring) == -EACCES);

  // Registering another file afterwards.
  const int other_raw = other_fd.get();
  CHECK(io_uring_register_files_update(&r.ring, 0, &other_raw, 1) == -EACCES);
  CHECK(buffer[0] == 7);
}

TEST_CASE("the disk's io_uring without restrictions, as on older kernels, serves the disk") {
  if (!io_uring_supported()) {
    WARN("io_uring is unavailable here");
    return;
  }
  TempImage disk(Bytes(512, 7));
  UniqueFd disk_fd(::open(disk.path.c_str(), O_RDONLY | O_CLOEXEC));
  Ring r(disk_fd.get(), RingLockdown::kSkip);
  CHECK(r.restrictions == RingRestrictions::kUnavailable);
  uint8_t buffer[512] = {};
  iovec iov{buffer, sizeof buffer};
  io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
  io_uring_prep_readv(sqe, 0, &iov, 1, 0);
  sqe->flags |= IOSQE_FIXED_FILE;
  CHECK(complete_one(r.ring) == 512);
  CHECK(buffer[0] == 7);
}

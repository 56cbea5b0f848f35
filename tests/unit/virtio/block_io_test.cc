// Both host I/O engines, driven directly.
#include "devices/virtio/block/block_io.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <map>
#include <memory>
#include <vector>

#include "base/util/unique_fd.h"
#include "tests/unit/virtio/block_test_support.h"
#include "tests/unit/virtio/bounded_task.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {

BlockIoEngine engine_under_test() { return KVMM_BLOCK_ENGINES(); }

// Waits until `count` completions arrived; returns them by tag.
std::map<uint64_t, int> wait_for(BlockIo& io, size_t count) {
  std::map<uint64_t, int> results;
  for (int waits = 0; waits < 200 && results.size() < count; ++waits) {
    pollfd p{io.completion_fd(), POLLIN, 0};
    ::poll(&p, 1, 100);  // Only bounds a hang.
    for (const BlockIoCompletion& c : io.reap()) results[c.tag] = c.result;
  }
  REQUIRE(results.size() == count);
  return results;
}

// Reaps until `keep_alive` is the last owner of what it points to (the
// engine let go of every operation holding it); the completions reaped.
std::vector<BlockIoCompletion> reap_until_released(BlockIo& io, const std::shared_ptr<void>& keep_alive) {
  std::vector<BlockIoCompletion> reaped;
  for (int waits = 0; waits < 200 && keep_alive.use_count() > 1; ++waits) {
    pollfd p{io.completion_fd(), POLLIN, 0};
    ::poll(&p, 1, 100);  // Only bounds a hang.
    for (const BlockIoCompletion& c : io.reap()) reaped.push_back(c);
  }
  REQUIRE(keep_alive.use_count() == 1);
  return reaped;
}

// A pipe as the disk: an io_uring read of it waits in the kernel until
// someone writes, and the wait can be cancelled.
struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read_end = UniqueFd(fds[0]);
    write_end = UniqueFd(fds[1]);
  }
  void write(const Bytes& bytes) const {
    REQUIRE(::write(write_end.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
};

BlockIoRequest read_request(uint64_t tag, Bytes& buffer) {
  BlockIoRequest read;
  read.op = BlockIoOp::kRead;
  read.iov = {iovec{buffer.data(), buffer.size()}};
  read.tag = tag;
  return read;
}

// After a cancel or a forget, the engine still serves a read: it brings
// `expected` (what the source holds next) into a buffer that held none of it.
void check_next_read(BlockIo& io, const Bytes& expected) {
  Bytes next(expected.size(), 0xee);
  io.submit(read_request(100, next));
  CHECK(wait_for(io, 1).at(100) == 0);
  CHECK(next == expected);
}

// Many views of one memfd, at distinct addresses: jobs that run at once
// each read into memory of their own as ThreadSanitizer sees it (it tracks
// addresses), while the host pays for the memory once. What the reads leave
// there is never looked at.
class AliasedBuffers {
 public:
  AliasedBuffers(size_t count, size_t size) : size_(size) {
    UniqueFd memory(::memfd_create("block-io-test", MFD_CLOEXEC));
    REQUIRE(memory.valid());
    REQUIRE(::ftruncate(memory.get(), static_cast<off_t>(size)) == 0);
    for (size_t i = 0; i < count; ++i) {
      void* view = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, memory.get(), 0);
      REQUIRE(view != MAP_FAILED);
      views_.push_back(view);
    }
  }
  AliasedBuffers(const AliasedBuffers&) = delete;
  AliasedBuffers& operator=(const AliasedBuffers&) = delete;
  ~AliasedBuffers() {
    for (void* view : views_) ::munmap(view, size_);
  }

  BlockIoRequest read_request(uint64_t tag, size_t view) const {
    BlockIoRequest read;
    read.op = BlockIoOp::kRead;
    read.iov = {iovec{views_.at(view), size_}};
    read.tag = tag;
    return read;
  }

 private:
  size_t size_;
  std::vector<void*> views_;
};

}  // namespace

TEST_CASE("block I/O keeps more requests in flight than its depth and completes all", "[threads]") {
  constexpr size_t kCount = 40;
  TempImage file(Bytes(kCount * 512, 0));
  UniqueFd fd(::open(file.path.c_str(), O_RDWR | O_CLOEXEC));
  REQUIRE(fd.valid());
  std::unique_ptr<BlockIo> io = make_block_io(fd.get(), engine_under_test(), 8);
  std::vector<Bytes> buffers;
  for (size_t i = 0; i < kCount; ++i) buffers.push_back(Bytes(512, static_cast<uint8_t>(i + 1)));
  for (size_t i = 0; i < kCount; ++i) {
    BlockIoRequest write;
    write.op = BlockIoOp::kWrite;
    write.offset = i * 512;
    // Two pieces per sector, to exercise the scatter-gather list.
    write.iov = {iovec{buffers[i].data(), 100}, iovec{buffers[i].data() + 100, 412}};
    write.tag = i;
    io->submit(std::move(write));
  }
  CHECK(io->in_flight() == kCount);
  for (const auto& [tag, result] : wait_for(*io, kCount)) CHECK(result == 0);
  CHECK(io->in_flight() == 0);
  const Bytes contents = file.contents();
  for (size_t i = 0; i < kCount; ++i) CHECK(contents[i * 512 + 511] == i + 1);

  BlockIoRequest flush;
  flush.op = BlockIoOp::kFlush;
  flush.tag = 99;
  io->submit(std::move(flush));
  CHECK(wait_for(*io, 1).at(99) == 0);
}

TEST_CASE("block I/O reports errors as negative errno", "[threads]") {
  const BlockIoEngine engine = engine_under_test();
  SECTION("a write to a full device is ENOSPC") {
    UniqueFd full(::open("/dev/full", O_RDWR | O_CLOEXEC));
    REQUIRE(full.valid());
    std::unique_ptr<BlockIo> io = make_block_io(full.get(), engine, 8);
    Bytes data(512, 1);
    BlockIoRequest write;
    write.op = BlockIoOp::kWrite;
    write.iov = {iovec{data.data(), data.size()}};
    write.tag = 1;
    io->submit(std::move(write));
    CHECK(wait_for(*io, 1).at(1) == -ENOSPC);
  }
  SECTION("a read past the end of the file is EIO, not a silent short read") {
    TempImage file(Bytes(512, 7));
    UniqueFd fd(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
    std::unique_ptr<BlockIo> io = make_block_io(fd.get(), engine, 8);
    Bytes data(1024, 0);
    BlockIoRequest read;
    read.op = BlockIoOp::kRead;
    read.iov = {iovec{data.data(), data.size()}};
    read.tag = 2;
    io->submit(std::move(read));
    CHECK(wait_for(*io, 1).at(2) == -EIO);
    CHECK(data[511] == 7);  // The part that existed was read.
  }
}

TEST_CASE("block I/O engine names", "[threads]") {
  TempImage file(Bytes(512, 0));
  UniqueFd fd(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
  CHECK(std::string(make_block_io(fd.get(), BlockIoEngine::kThread, 8)->name()) == "thread");
  if (io_uring_supported()) {
    CHECK(std::string(make_block_io(fd.get(), BlockIoEngine::kIoUring, 8)->name()) == "io_uring");
  } else {
    CHECK_THROWS_WITH(make_block_io(fd.get(), BlockIoEngine::kIoUring, 8), Catch::Contains("io_uring_queue_init failed"));
    CHECK(std::string(make_block_io(fd.get(), BlockIoEngine::kAuto, 8)->name()) == "thread");
  }
}

TEST_CASE("io_uring cancels reads the kernel holds, and the engine serves the next activation") {
  if (!io_uring_supported()) {
    WARN("io_uring is unavailable here; nothing to cancel");
    return;
  }
  // Reads of a pipe nobody writes never complete by themselves: 8 wait in
  // the kernel (the depth), 12 in the engine's backlog. The ring is locked
  // down as in the VMM (io_uring_ring.h), so this also shows the
  // restrictions let the engine's cancels through; and unrestricted, as on
  // kernels before 5.10.
  const RingLockdown lockdown = GENERATE(RingLockdown::kRestrict, RingLockdown::kSkip);
  Pipe pipe;
  std::unique_ptr<BlockIo> io = make_io_uring_block_io(pipe.read_end.get(), 8, lockdown);
  constexpr size_t kCount = 20;
  std::vector<Bytes> buffers(kCount, Bytes(64, 0));
  for (size_t i = 0; i < kCount; ++i) io->submit(read_request(i, buffers[i]));
  CHECK(io->reap().empty());
  CHECK(io->in_flight() == kCount);

  io->cancel();
  size_t cancelled = 0;
  for (const auto& [tag, result] : wait_for(*io, kCount)) {
    // -EINTR where the kernel ran the read on an io-wq worker and
    // interrupted it.
    if (result == -ECANCELED || result == -EINTR) ++cancelled;
  }
  CHECK(cancelled == kCount);
  CHECK(io->in_flight() == 0);

  // Nothing of the cancelled reads remains in the kernel: the next read gets
  // the data written for it, all of it.
  Bytes data(64, 0x5a);
  pipe.write(data);
  check_next_read(*io, data);
  CHECK(io->in_flight() == 0);
}

TEST_CASE("io_uring holds deferred submissions until flush, then sends them all") {
  if (!io_uring_supported()) {
    WARN("io_uring is unavailable here");
    return;
  }
  constexpr size_t kCount = 16;
  TempImage file(Bytes(kCount * 512, 7));
  UniqueFd fd(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  std::unique_ptr<BlockIo> io = make_block_io(fd.get(), BlockIoEngine::kIoUring, 8);
  std::vector<Bytes> buffers(kCount, Bytes(512, 0));
  io->defer_submissions(true);
  for (size_t i = 0; i < kCount; ++i) {
    BlockIoRequest read = read_request(i, buffers[i]);
    read.offset = i * 512;
    io->submit(std::move(read));
  }
  CHECK(io->in_flight() == kCount);
  // Nothing reached the kernel, so nothing can complete: reads of a file
  // that would be back within a millisecond are not, in 100.
  pollfd p{io->completion_fd(), POLLIN, 0};
  CHECK(::poll(&p, 1, 100) == 0);
  io->defer_submissions(false);
  io->flush();
  for (const auto& [tag, result] : wait_for(*io, kCount)) CHECK(result == 0);
  for (const Bytes& buffer : buffers) CHECK(buffer == Bytes(512, 7));
}

TEST_CASE("destroying an io_uring engine with reads waiting in the kernel cancels them",
          "[threads]") {
  if (!io_uring_supported()) {
    WARN("io_uring is unavailable here");
    return;
  }
  Pipe pipe;
  std::unique_ptr<BlockIo> io = make_io_uring_block_io(pipe.read_end.get(), 8);
  std::vector<Bytes> buffers(20, Bytes(64, 0));
  for (size_t i = 0; i < buffers.size(); ++i) io->submit(read_request(i, buffers[i]));
  // Waiting for the reads instead would wait for ever: nobody writes.
  BoundedTask destroy([&io] { io.reset(); });
  CHECK(destroy.wait());
}

TEST_CASE("io_uring forgets operations but keeps their buffers until the kernel ends them") {
  if (!io_uring_supported()) {
    WARN("io_uring is unavailable here");
    return;
  }
  Pipe pipe;
  std::unique_ptr<BlockIo> io = make_io_uring_block_io(pipe.read_end.get(), 8);
  auto owner = std::make_shared<std::vector<Bytes>>(3, Bytes(64, 0));
  for (uint64_t i = 0; i < 3; ++i) {
    BlockIoRequest read = read_request(i, (*owner)[i]);
    read.keep_alive = owner;
    io->submit(std::move(read));
  }
  std::shared_ptr<void> keep_alive = owner;
  owner.reset();
  io->forget_in_flight();
  CHECK(io->in_flight() == 0);
  CHECK(keep_alive.use_count() == 4);  // Each operation still holds the buffers.

  // The kernel ends the reads (the data arrives); their completions are dropped.
  pipe.write(Bytes(3 * 64, 1));
  CHECK(reap_until_released(*io, keep_alive).empty());
  CHECK(io->in_flight() == 0);

  pipe.write(Bytes(64, 2));
  check_next_read(*io, Bytes(64, 2));
}

TEST_CASE("the thread engine drops jobs not started on cancel, and running ones finish",
          "[threads]") {
  // 16 MiB reads of /dev/zero keep the 4 workers busy while the rest queue
  // (200 of them: about a second of work, against the moment between the
  // last submit and cancel()). Workers take jobs in order, so the finished
  // ones come first and every job after them is cancelled.
  UniqueFd zero(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
  REQUIRE(zero.valid());
  std::unique_ptr<BlockIo> io = make_thread_block_io(zero.get());
  constexpr size_t kCount = 200;
  const AliasedBuffers big(kCount, 16 << 20);
  for (size_t i = 0; i < kCount; ++i) io->submit(big.read_request(i, i));
  io->cancel();
  const std::map<uint64_t, int> results = wait_for(*io, kCount);
  size_t finished = 0;
  size_t cancelled = 0;
  for (const auto& [tag, result] : results) {
    if (result == 0) {
      CHECK(cancelled == 0);  // No finished job after a cancelled one.
      ++finished;
    } else {
      CHECK(result == -ECANCELED);
      ++cancelled;
    }
  }
  CHECK(finished + cancelled == kCount);
  CHECK(cancelled > 0);
  CHECK(io->in_flight() == 0);
  check_next_read(*io, Bytes(512, 0));
}

TEST_CASE("the thread engine forgets jobs, and running ones keep their buffers until they end",
          "[threads]") {
  UniqueFd zero(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
  REQUIRE(zero.valid());
  std::unique_ptr<BlockIo> io = make_thread_block_io(zero.get());
  auto owner = std::make_shared<AliasedBuffers>(12, 64 << 20);
  for (uint64_t i = 0; i < 12; ++i) {
    BlockIoRequest read = owner->read_request(i, i);
    read.keep_alive = owner;
    io->submit(std::move(read));
  }
  std::shared_ptr<void> keep_alive = owner;
  owner.reset();
  io->forget_in_flight();
  CHECK(io->in_flight() == 0);
  CHECK(reap_until_released(*io, keep_alive).empty());
  CHECK(io->in_flight() == 0);
  check_next_read(*io, Bytes(512, 0));
}

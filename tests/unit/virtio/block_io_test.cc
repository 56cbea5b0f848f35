// Both host I/O engines, driven directly.
#include "devices/virtio/block/block_io.h"

#include <fcntl.h>
#include <poll.h>

#include <catch2/catch.hpp>

#include <map>

#include "base/util/unique_fd.h"
#include "tests/unit/virtio/block_test_support.h"

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

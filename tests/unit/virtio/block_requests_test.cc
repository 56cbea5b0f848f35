// The virtio-blk request path over hand-built descriptor chains and a real
// image file, with both I/O engines.
#include "devices/virtio/block/block_requests.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>

#include "base/util/error.h"
#include "base/util/unique_fd.h"
#include "devices/virtio/block/disk_image.h"
#include "tests/unit/virtio/block_test_support.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {

constexpr uint64_t kAllFeatures = kVirtioBlkFFlush | kVirtioBlkFDiscard | kVirtioBlkFWriteZeroes;
constexpr uint64_t kSectors = 64;

GuestMemory guest() {
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, 1 << 20);
  return memory;
}

BlockDiskInfo info_for(const DiskImage& image) {
  BlockDiskInfo info;
  info.sectors = image.sectors();
  info.read_only = image.read_only();
  const std::string serial = "test-serial-0123";
  std::copy(serial.begin(), serial.end(), info.id.begin());
  info.max_discard_sectors = 1024;
  info.max_write_zeroes_sectors = 1024;
  if (image.cache() == DiskCache::kNone) info.buffer_alignment = image.block_size();
  return info;
}

// One disk: the image, its engine (both kinds, by GENERATE) and the request path.
struct Disk {
  TempImage file;
  DiskImage image;
  std::unique_ptr<BlockIo> io;
  BlockRequests requests;
  Disk(const Bytes& contents, DiskAccess access, BlockIoEngine engine, const std::string& dir = "/tmp",
       DiskCache cache = DiskCache::kWriteback)
      : file(contents, dir),
        image(DiskImage::open(DiskOptions{file.path, access, "", cache})),
        io(make_block_io(image.fd(), engine, 256)),
        requests(*io, info_for(image), kAllFeatures) {}
  BlockCompletion run(const ChainBuilder& builder) { return run_request(requests, *io, builder.chain()); }
};

BlockIoEngine engine_under_test() {
  const BlockIoEngine engine = KVMM_BLOCK_ENGINES();
  return engine;
}

}  // namespace

TEST_CASE("virtio-blk reads and writes sectors across split buffers", "[threads]") {
  Disk disk(pattern(kSectors * 512, 1), DiskAccess::kReadWrite, engine_under_test());
  GuestMemory memory = guest();

  const Bytes data = pattern(3 * 512, 99);
  ChainBuilder write(memory, 5);
  write.readable(header(kVirtioBlkTOut, 10)).readable(Bytes(data.begin(), data.begin() + 700))
      .readable(Bytes(data.begin() + 700, data.end())).writable(1);
  const BlockCompletion wrote = disk.run(write);
  CHECK(wrote.head == 5);
  CHECK(wrote.status == kVirtioBlkSOk);
  CHECK(write.status() == kVirtioBlkSOk);
  CHECK(wrote.used_len == 1);
  const Bytes file = disk.file.contents();
  CHECK(Bytes(file.begin() + 10 * 512, file.begin() + 13 * 512) == data);
  const Bytes original = pattern(kSectors * 512, 1);
  CHECK(Bytes(file.begin(), file.begin() + 10 * 512) == Bytes(original.begin(), original.begin() + 10 * 512));

  // Read it back with the status byte sharing the last data buffer.
  ChainBuilder read(memory, 6);
  read.readable(header(kVirtioBlkTIn, 10)).writable(1000).writable(3 * 512 - 1000 + 1);
  const BlockCompletion got = disk.run(read);
  CHECK(got.status == kVirtioBlkSOk);
  CHECK(got.used_len == 3 * 512 + 1);
  Bytes back = read.written(0);
  const Bytes tail = read.written(1);
  back.insert(back.end(), tail.begin(), tail.end() - 1);
  CHECK(back == data);
}

TEST_CASE("virtio-blk refuses requests past the end or not in whole sectors", "[threads]") {
  Disk disk(pattern(kSectors * 512, 1), DiskAccess::kReadWrite, engine_under_test());
  GuestMemory memory = guest();
  const Bytes before = disk.file.contents();

  SECTION("read past the last sector") {
    ChainBuilder read(memory);
    read.readable(header(kVirtioBlkTIn, kSectors - 1)).writable(1024).writable(1);
    CHECK(disk.run(read).status == kVirtioBlkSIoErr);
  }
  SECTION("a sector number that overflows when scaled") {
    ChainBuilder write(memory);
    write.readable(header(kVirtioBlkTOut, UINT64_MAX - 1)).readable(Bytes(512, 1)).writable(1);
    CHECK(disk.run(write).status == kVirtioBlkSIoErr);
  }
  SECTION("write not a multiple of 512") {
    ChainBuilder write(memory);
    write.readable(header(kVirtioBlkTOut, 0)).readable(Bytes(511, 1)).writable(1);
    CHECK(disk.run(write).status == kVirtioBlkSIoErr);
  }
  SECTION("read not a multiple of 512") {
    ChainBuilder read(memory);
    read.readable(header(kVirtioBlkTIn, 0)).writable(100).writable(1);
    CHECK(disk.run(read).status == kVirtioBlkSIoErr);
  }
  SECTION("header shorter than 16 bytes") {
    ChainBuilder read(memory);
    read.readable(Bytes(15, 0)).writable(513);
    CHECK(disk.run(read).status == kVirtioBlkSIoErr);
  }
  SECTION("unknown request type") {
    ChainBuilder request(memory);
    request.readable(header(77, 0)).writable(1);
    const BlockCompletion done = disk.run(request);
    CHECK(done.status == kVirtioBlkSUnsupp);
    CHECK(request.status() == kVirtioBlkSUnsupp);
  }
  CHECK(disk.file.contents() == before);
  CHECK(disk.requests.in_flight() == 0);
}

TEST_CASE("virtio-blk drops a request without a writable status byte", "[threads]") {
  Disk disk(pattern(kSectors * 512, 1), DiskAccess::kReadWrite, engine_under_test());
  GuestMemory memory = guest();
  ChainBuilder write(memory, 9);
  write.readable(header(kVirtioBlkTOut, 0)).readable(Bytes(512, 1));
  const BlockCompletion done = disk.run(write);
  CHECK(done.head == 9);
  CHECK(done.used_len == 0);
  CHECK(disk.file.contents() == pattern(kSectors * 512, 1));
}

TEST_CASE("virtio-blk on a read-only disk refuses writes and leaves the file alone", "[threads]") {
  const Bytes original = pattern(kSectors * 512, 3);
  Disk disk(original, DiskAccess::kReadOnly, engine_under_test());
  GuestMemory memory = guest();

  ChainBuilder write(memory);
  write.readable(header(kVirtioBlkTOut, 0)).readable(Bytes(512, 0)).writable(1);
  CHECK(disk.run(write).status == kVirtioBlkSIoErr);

  ChainBuilder discard(memory);
  discard.readable(header(kVirtioBlkTDiscard, 0)).readable(segment(0, 8, 0)).writable(1);
  CHECK(disk.run(discard).status == kVirtioBlkSIoErr);

  ChainBuilder zeroes(memory);
  zeroes.readable(header(kVirtioBlkTWriteZeroes, 0)).readable(segment(0, 8, 1)).writable(1);
  CHECK(disk.run(zeroes).status == kVirtioBlkSIoErr);

  ChainBuilder flush(memory);
  flush.readable(header(kVirtioBlkTFlush, 0)).writable(1);
  CHECK(disk.run(flush).status == kVirtioBlkSOk);

  ChainBuilder read(memory);
  read.readable(header(kVirtioBlkTIn, 1)).writable(512).writable(1);
  CHECK(disk.run(read).status == kVirtioBlkSOk);
  CHECK(read.written(0) == Bytes(original.begin() + 512, original.begin() + 1024));

  CHECK(disk.file.contents() == original);
}

TEST_CASE("virtio-blk GET_ID returns the serial and FLUSH succeeds", "[threads]") {
  Disk disk(pattern(kSectors * 512, 1), DiskAccess::kReadWrite, engine_under_test());
  GuestMemory memory = guest();

  ChainBuilder id(memory);
  id.readable(header(kVirtioBlkTGetId, 0)).writable(20).writable(1);
  const BlockCompletion got = disk.run(id);
  CHECK(got.status == kVirtioBlkSOk);
  CHECK(got.used_len == 21);
  const Bytes serial = id.written(0);
  CHECK(std::string(serial.begin(), serial.begin() + 16) == "test-serial-0123");
  CHECK(serial[16] == 0);

  ChainBuilder write(memory);
  write.readable(header(kVirtioBlkTOut, 2)).readable(Bytes(512, 0x5a)).writable(1);
  ChainBuilder flush(memory, 1, 0x80000);
  flush.readable(header(kVirtioBlkTFlush, 0)).writable(1);
  // The flush is started while the write may still be in flight: it must
  // wait for it, and both must complete.
  std::vector<BlockCompletion> done;
  if (auto now = disk.requests.start(write.chain())) done.push_back(*now);
  if (auto now = disk.requests.start(flush.chain())) done.push_back(*now);
  for (int waits = 0; waits < 100 && done.size() < 2; ++waits) {
    pollfd p{disk.io->completion_fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    for (const BlockCompletion& c : disk.requests.reap()) done.push_back(c);
  }
  REQUIRE(done.size() == 2);
  CHECK(done[0].head == 0);  // The write completes before the flush that covers it.
  CHECK(done[1].head == 1);
  CHECK(done[1].status == kVirtioBlkSOk);
}

TEST_CASE("virtio-blk DISCARD and WRITE_ZEROES zero the range and validate segments", "[threads]") {
  Disk disk(pattern(kSectors * 512, 1), DiskAccess::kReadWrite, engine_under_test());
  GuestMemory memory = guest();

  ChainBuilder zeroes(memory);
  zeroes.readable(header(kVirtioBlkTWriteZeroes, 0)).readable(segment(8, 16, 0)).writable(1);
  CHECK(disk.run(zeroes).status == kVirtioBlkSOk);
  Bytes file = disk.file.contents();
  CHECK(Bytes(file.begin() + 8 * 512, file.begin() + 24 * 512) == Bytes(16 * 512, 0));
  CHECK(file[8 * 512 - 1] == pattern(kSectors * 512, 1)[8 * 512 - 1]);
  CHECK(file[24 * 512] == pattern(kSectors * 512, 1)[24 * 512]);

  ChainBuilder unmap(memory);
  unmap.readable(header(kVirtioBlkTWriteZeroes, 0)).readable(segment(32, 8, kVirtioBlkWriteZeroesFlagUnmap)).writable(1);
  CHECK(disk.run(unmap).status == kVirtioBlkSOk);
  file = disk.file.contents();
  CHECK(Bytes(file.begin() + 32 * 512, file.begin() + 40 * 512) == Bytes(8 * 512, 0));

  ChainBuilder discard(memory);
  discard.readable(header(kVirtioBlkTDiscard, 0)).readable(segment(48, 16, 0)).writable(1);
  CHECK(disk.run(discard).status == kVirtioBlkSOk);

  // Guest-controlled segments.
  ChainBuilder unmap_on_discard(memory);
  unmap_on_discard.readable(header(kVirtioBlkTDiscard, 0)).readable(segment(0, 8, 1)).writable(1);
  CHECK(disk.run(unmap_on_discard).status == kVirtioBlkSUnsupp);
  ChainBuilder reserved(memory);
  reserved.readable(header(kVirtioBlkTWriteZeroes, 0)).readable(segment(0, 8, 2)).writable(1);
  CHECK(disk.run(reserved).status == kVirtioBlkSUnsupp);
  ChainBuilder past_end(memory);
  past_end.readable(header(kVirtioBlkTWriteZeroes, 0)).readable(segment(kSectors - 4, 8, 0)).writable(1);
  CHECK(disk.run(past_end).status == kVirtioBlkSIoErr);
  ChainBuilder two(memory);
  two.readable(header(kVirtioBlkTDiscard, 0)).readable(segment(0, 8, 0)).readable(segment(8, 8, 0)).writable(1);
  CHECK(disk.run(two).status == kVirtioBlkSIoErr);
  ChainBuilder none(memory);
  none.readable(header(kVirtioBlkTDiscard, 0)).writable(1);
  CHECK(disk.run(none).status == kVirtioBlkSIoErr);
  ChainBuilder too_long(memory);
  too_long.readable(header(kVirtioBlkTDiscard, 0)).readable(segment(0, 2048, 0)).writable(1);
  CHECK(disk.run(too_long).status == kVirtioBlkSIoErr);
}

TEST_CASE("virtio-blk WRITE_ZEROES with UNMAP deallocates blocks", "[threads]") {
  const uint64_t sectors = 2048;  // 1 MiB, written so every block is allocated.
  Disk disk(pattern(sectors * 512, 1), DiskAccess::kReadWrite, engine_under_test());
  ::fsync(disk.image.fd());
  GuestMemory memory = guest();
  const uint64_t before = disk.file.allocated_blocks();
  ChainBuilder unmap(memory);
  unmap.readable(header(kVirtioBlkTWriteZeroes, 0)).readable(segment(0, 1024, kVirtioBlkWriteZeroesFlagUnmap)).writable(1);
  CHECK(disk.run(unmap).status == kVirtioBlkSOk);
  const uint64_t after = disk.file.allocated_blocks();
  if (after >= before) {
    WARN("the file system under /tmp does not punch holes; deallocation not checked");
  } else {
    CHECK(after <= before - 1024);  // st_blocks counts 512-byte units.
  }
  const Bytes file = disk.file.contents();
  CHECK(Bytes(file.begin(), file.begin() + 1024 * 512) == Bytes(1024 * 512, 0));
}

TEST_CASE("virtio-blk WRITE_ZEROES writes zeros where the file system cannot zero a range",
          "[threads]") {
  if (!std::filesystem::is_directory("/dev/shm")) {
    WARN("no /dev/shm (tmpfs, which has no FALLOC_FL_ZERO_RANGE); skipped");
    return;
  }
  Disk disk(pattern(kSectors * 512, 1), DiskAccess::kReadWrite, engine_under_test(), "/dev/shm");
  GuestMemory memory = guest();
  ChainBuilder zeroes(memory);
  zeroes.readable(header(kVirtioBlkTWriteZeroes, 0)).readable(segment(4, 40, 0)).writable(1);
  CHECK(disk.run(zeroes).status == kVirtioBlkSOk);
  const Bytes file = disk.file.contents();
  CHECK(Bytes(file.begin() + 4 * 512, file.begin() + 44 * 512) == Bytes(40 * 512, 0));
  CHECK(file[44 * 512] == pattern(kSectors * 512, 1)[44 * 512]);
}

TEST_CASE("virtio-blk reports host write errors as IOERR and keeps going", "[threads]") {
  // /dev/full fails every write with ENOSPC and reads as zeros.
  UniqueFd full(::open("/dev/full", O_RDWR | O_CLOEXEC));
  REQUIRE(full.valid());
  const BlockIoEngine engine = engine_under_test();
  std::unique_ptr<BlockIo> io = make_block_io(full.get(), engine, 16);
  BlockDiskInfo info;
  info.sectors = 16;
  BlockRequests requests(*io, info, kAllFeatures);
  GuestMemory memory = guest();

  ChainBuilder write(memory);
  write.readable(header(kVirtioBlkTOut, 0)).readable(Bytes(512, 1)).writable(1);
  CHECK(run_request(requests, *io, write.chain()).status == kVirtioBlkSIoErr);

  ChainBuilder read(memory);
  read.readable(header(kVirtioBlkTIn, 0)).writable(512).writable(1);
  CHECK(run_request(requests, *io, read.chain()).status == kVirtioBlkSOk);
  CHECK(read.written(0) == Bytes(512, 0));
}

TEST_CASE("virtio-blk with cache=none serves buffers O_DIRECT cannot take through a bounce buffer",
          "[threads]") {
  const BlockIoEngine engine = engine_under_test();
  const Bytes original = pattern(kSectors * 512, 5);
  std::unique_ptr<Disk> disk;
  try {
    disk = std::make_unique<Disk>(original, DiskAccess::kReadWrite, engine, "/tmp", DiskCache::kNone);
  } catch (const Error& e) {
    WARN("no O_DIRECT under /tmp (" << e.what() << "); skipped");
    return;
  }
  GuestMemory memory = guest();
  const Bytes data = pattern(2 * 512, 42);
  ChainBuilder write(memory);
  write.readable(header(kVirtioBlkTOut, 6)).misalign_next(3).readable(data).writable(1);
  CHECK(disk->run(write).status == kVirtioBlkSOk);

  ChainBuilder read(memory, 1);
  read.readable(header(kVirtioBlkTIn, 6)).misalign_next(100).writable(700).writable(2 * 512 - 700 + 1);
  CHECK(disk->run(read).status == kVirtioBlkSOk);
  Bytes back = read.written(0);
  const Bytes tail = read.written(1);
  back.insert(back.end(), tail.begin(), tail.end() - 1);
  CHECK(back == data);

  // Aligned buffers go straight to the guest's memory.
  ChainBuilder aligned(memory, 2);
  aligned.readable(header(kVirtioBlkTIn, 0)).writable(4096).writable(1);
  CHECK(disk->run(aligned).status == kVirtioBlkSOk);
  Bytes expected(original.begin(), original.begin() + 4096);
  std::copy(data.begin(), data.end(), expected.begin() + 6 * 512);
  CHECK(aligned.written(0) == expected);
  CHECK(disk->file.contents() == [&] {
    Bytes all = original;
    std::copy(data.begin(), data.end(), all.begin() + 6 * 512);
    return all;
  }());
}

TEST_CASE("virtio-blk reset cancels reads waiting in the kernel, and the next activation reads") {
  if (!io_uring_supported()) {
    WARN("io_uring is unavailable here; nothing to cancel");
    return;
  }
  // A pipe as the disk: its reads wait in the kernel until data comes, as a
  // read of hung storage would, but the kernel can cancel them.
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  std::unique_ptr<BlockIo> io = make_io_uring_block_io(read_end.get(), 8);
  GuestMemory memory = guest();
  BlockDiskInfo info;
  info.sectors = kSectors;
  info.buffer_alignment = 512;  // Odd requests below are misaligned: bounced.
  std::vector<std::unique_ptr<ChainBuilder>> chains;
  {
    BlockRequests requests(*io, info, 0);
    for (uint16_t i = 0; i < 12; ++i) {
      auto& chain = chains.emplace_back(std::make_unique<ChainBuilder>(memory, i, 0x1000 + 0x4000ull * i));
      chain->readable(header(kVirtioBlkTIn, 0));
      if (i % 2 == 1) chain->misalign_next(1);
      chain->writable(512).writable(1);
      CHECK_FALSE(requests.start(chain->chain()));
    }
    CHECK(requests.submitted() == 12);  // 8 in the kernel, 4 in the engine's backlog.
    CHECK(requests.bounce_bytes() == 6 * 512);

    // None is left to the engine: every one was cancelled. The bound only
    // turns a failure to cancel into a failed check rather than a hang.
    CHECK(requests.stop(std::chrono::seconds(10)) == 0);
    CHECK(requests.in_flight() == 0);
    CHECK(requests.bounce_bytes() == 0);
    CHECK(io->in_flight() == 0);
  }
  for (const auto& chain : chains) CHECK(chain->written(0) == Bytes(512, 0xee));  // Nothing read.

  // The next activation, on the same engine, reads what the "disk" holds.
  const Bytes data = pattern(512, 3);
  REQUIRE(::write(write_end.get(), data.data(), data.size()) == 512);
  BlockRequests requests(*io, info, 0);
  ChainBuilder next(memory, 0, 0x80000);
  next.readable(header(kVirtioBlkTIn, 0)).writable(512).writable(1);
  const BlockCompletion done = run_request(requests, *io, next.chain());
  CHECK(done.status == kVirtioBlkSOk);
  CHECK(next.written(0) == data);
}

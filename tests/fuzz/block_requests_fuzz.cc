// libFuzzer target: arbitrary virtio-blk requests (header, segments, buffer
// split, status placement) through BlockRequests on a small in-memory image.
// Nothing a guest sends may crash kvmm or touch memory outside its buffers
// (build with -fsanitize=address to check the latter), and the device's
// bounds hold: requests in flight never exceed the queue size, bounce
// buffers never exceed their budget, and a reset leaves nothing in flight.
//
// Input: byte 0 = readable buffer count (low 2 bits + 1) and writable count
// (next 3 bits, 0..7), read-only (bit 5), cache=none (bit 6) and a reset
// while the request is in flight (bit 7); then one length byte per buffer
// (readable: byte * 4; writable: byte * 4 + 1, so the status fits), then the
// readable bytes (repeated to fill the buffers). The chain is the one a real
// Virtqueue pops for those buffers (tests/support/virtio_driver.h). Seeds in
// corpus/block_requests/.
// Built by tests/fuzz/CMakeLists.txt's kvmm_fuzz_target(block_requests).
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "base/memory/guest_memory.h"
#include "devices/virtio/block/block_requests.h"
#include "tests/support/virtio_driver.h"

using namespace kvmm;
using kvmm::testing::Access;
using kvmm::testing::Buffer;
using kvmm::testing::ChainSource;

namespace {

constexpr uint64_t kSectors = 64;

struct World {
  GuestMemory memory;
  int image_fd;
  std::unique_ptr<BlockIo> io;
  std::unique_ptr<ChainSource> chains;
  World() {
    memory.add_region(GuestAddress{0}, 1 << 20);
    chains = std::make_unique<ChainSource>(memory);
    image_fd = ::memfd_create("kvmm-fuzz-disk", MFD_CLOEXEC);
    if (image_fd < 0 || ::ftruncate(image_fd, kSectors * 512) != 0) ::abort();
    io = make_block_io(image_fd, BlockIoEngine::kThread, 16);
  }
};

World& world() {
  static World w;
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  World& w = world();
  const size_t readable_count = (data[0] & 3) + 1;
  const size_t writable_count = (data[0] >> 2) & 7;
  const bool read_only = (data[0] & 0x20) != 0;
  const bool cache_none = (data[0] & 0x40) != 0;
  const bool reset = (data[0] & 0x80) != 0;
  size_t at = 1;
  if (size < at + readable_count + writable_count) return 0;

  std::vector<Buffer> buffers;
  uint64_t gpa = 0x1000;
  auto add = [&](size_t length, Access access) {
    buffers.push_back({GuestAddress{gpa}, static_cast<uint32_t>(length), access});
    gpa += (length + 511) / 512 * 512 + 512;
  };
  std::vector<size_t> lengths;
  for (size_t i = 0; i < readable_count + writable_count; ++i) lengths.push_back(size_t{data[at++]} * 4);
  for (size_t i = 0; i < readable_count; ++i) add(lengths[i], Access::kReadable);
  for (size_t i = 0; i < writable_count; ++i) add(lengths[readable_count + i] + 1, Access::kWritable);
  const DescriptorChain chain = w.chains->chain(buffers, 7);
  // Readable contents from the rest of the input, repeated.
  for (const ChainBuffer& buffer : chain.readable) {
    for (size_t i = 0; i < buffer.host.size(); ++i) {
      buffer.host[i] = at < size ? data[at + i % (size - at)] : 0;
    }
  }

  BlockDiskInfo info;
  info.sectors = kSectors;
  info.read_only = read_only;
  info.max_discard_sectors = 32;
  info.max_write_zeroes_sectors = 32;
  info.max_in_flight = 1;  // One request per input: the bound is a queue of one.
  info.bounce_budget = 16 * 1024;  // Less than the largest request, which then runs alone.
  if (cache_none) info.buffer_alignment = 4096;
  BlockRequests requests(*w.io, info, kVirtioBlkFFlush | kVirtioBlkFDiscard | kVirtioBlkFWriteZeroes,
                         "fuzz: ");
  // The invariants, checked after every step.
  auto check = [&] {
    if (requests.in_flight() > info.max_in_flight) ::abort();
    if (requests.submitted() > requests.in_flight()) ::abort();
    if (requests.bounce_bytes() > std::max<uint64_t>(info.bounce_budget, kSectors * 512)) ::abort();
  };
  const bool done = requests.start(chain).has_value();
  check();
  if (done) return 0;
  if (!requests.head_in_flight(chain.head) || !requests.full()) ::abort();
  if (reset) {
    // The device's reset path: cancelled or finished within the bound (the
    // image is a memfd), or else left to the engine; either way nothing stays.
    (void)requests.stop(std::chrono::seconds(10));
    check();
    if (requests.in_flight() != 0 || requests.submitted() != 0 || requests.bounce_bytes() != 0 ||
        requests.head_in_flight(chain.head) || w.io->in_flight() != 0) {
      ::abort();
    }
    return 0;
  }
  while (requests.in_flight() > 0) {
    pollfd p{w.io->completion_fd(), POLLIN, 0};
    ::poll(&p, 1, -1);
    (void)requests.reap();
    check();
  }
  if (requests.head_in_flight(chain.head) || requests.bounce_bytes() != 0) ::abort();
  return 0;
}

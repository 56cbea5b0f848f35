#pragma once
// For the virtio-blk request path: descriptor chains from the one fake driver
// (tests/support/virtio_driver.h), temporary disk images, and running a
// request to completion on a BlockRequests.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "base/memory/guest_memory.h"
#include "devices/virtio/block/block_io.h"
#include "devices/virtio/block/block_requests.h"
#include "devices/virtio/descriptor_chain.h"
#include "tests/support/virtio_driver.h"

namespace kvmm::testing {

using Bytes = std::vector<uint8_t>;

// A virtio-blk request's buffers, laid out one after another in guest memory
// from `base`, and its chain as Virtqueue::pop() hands it over (offered by
// the fake driver, popped from a real queue). Builders whose chains are in
// flight together need different bases.
class ChainBuilder {
 public:
  explicit ChainBuilder(const GuestMemory& memory, uint16_t head = 0, uint64_t base = 0x1000)
      : memory_(memory), head_(head), next_(base) {}

  ChainBuilder& readable(const Bytes& bytes) {
    const GuestAddress gpa = allocate(bytes.size());
    REQUIRE(memory_.write(gpa, bytes));
    add({gpa, static_cast<uint32_t>(bytes.size()), Access::kReadable});
    return *this;
  }
  // Pre-filled with 0xee, so a test sees what the device wrote.
  ChainBuilder& writable(size_t length) {
    const GuestAddress gpa = allocate(length);
    REQUIRE(memory_.write(gpa, Bytes(length, 0xee)));
    add({gpa, static_cast<uint32_t>(length), Access::kWritable});
    writable_.push_back(buffers_.back());
    return *this;
  }
  // Starts the next buffer `bytes` past a 4 KiB boundary, as a driver with
  // unaligned buffers would.
  ChainBuilder& misalign_next(uint64_t bytes) {
    misalign_ = bytes;
    return *this;
  }
  const DescriptorChain& chain() const {
    if (!chain_) {
      ChainSource source(memory_);
      chain_ = source.chain(buffers_, head_);
    }
    return *chain_;
  }

  // The bytes of writable buffer `index`.
  Bytes written(size_t index) const {
    const Buffer& buffer = writable_.at(index);
    Bytes bytes(buffer.len);
    REQUIRE(memory_.read(buffer.gpa, bytes));
    return bytes;
  }
  uint8_t status() const {
    const Buffer& last = writable_.back();
    return written(writable_.size() - 1).at(last.len - 1);
  }

 private:
  void add(const Buffer& buffer) {
    buffers_.push_back(buffer);
    chain_.reset();
  }
  GuestAddress allocate(size_t length) {
    // 512-aligned, as Linux's block layer aligns buffers (and O_DIRECT needs).
    next_ = ((next_ + 4095) & ~uint64_t{4095}) + misalign_;
    misalign_ = 0;
    REQUIRE(memory_.slice(GuestAddress{next_}, length).has_value());
    const GuestAddress gpa{next_};
    next_ += length;
    return gpa;
  }

  const GuestMemory& memory_;
  uint16_t head_;
  std::vector<Buffer> buffers_;
  std::vector<Buffer> writable_;
  mutable std::optional<DescriptorChain> chain_;
  uint64_t next_;
  uint64_t misalign_ = 0;
};

inline Bytes header(uint32_t type, uint64_t sector) {
  VirtioBlkHeader h{type, 0, sector};
  Bytes out(sizeof(h));
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

inline Bytes segment(uint64_t sector, uint32_t num_sectors, uint32_t flags) {
  VirtioBlkDiscardSegment s{sector, num_sectors, flags};
  Bytes out(sizeof(s));
  std::memcpy(out.data(), &s, sizeof(s));
  return out;
}

inline Bytes pattern(size_t length, uint8_t seed) {
  Bytes out(length);
  for (size_t i = 0; i < length; ++i) out[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 9));
  return out;
}

// A disk image file in `dir` (default /tmp, ext4 here) holding `contents`.
struct TempImage {
  std::filesystem::path path;
  explicit TempImage(const Bytes& contents, const std::string& dir = "/tmp") {
    std::string name = dir + "/kvmm-disk-XXXXXX";
    const int fd = ::mkstemp(name.data());
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(contents.data()), static_cast<std::streamsize>(contents.size()));
  }
  TempImage(const TempImage&) = delete;
  TempImage& operator=(const TempImage&) = delete;
  ~TempImage() { std::filesystem::remove(path); }

  Bytes contents() const {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  }
  uint64_t allocated_blocks() const {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<uint64_t>(st.st_blocks);
  }
};

// Both engines, one per run of the test case (GENERATE). Where io_uring is
// unavailable (seccomp in a container) the io_uring run uses the thread
// engine and says so, rather than failing on the host.
#define KVMM_BLOCK_ENGINES() \
  ::kvmm::testing::available_engine(GENERATE(BlockIoEngine::kIoUring, BlockIoEngine::kThread))

inline BlockIoEngine available_engine(BlockIoEngine engine) {
  if (engine == BlockIoEngine::kIoUring && !io_uring_supported()) {
    WARN("io_uring is unavailable here; this run uses the thread engine");
    return BlockIoEngine::kThread;
  }
  return engine;
}

// Runs one request to completion (host I/O included).
inline BlockCompletion run_request(BlockRequests& requests, BlockIo& io, const DescriptorChain& chain) {
  if (auto done = requests.start(chain)) return *done;
  for (int waits = 0; waits < 100; ++waits) {
    pollfd p{io.completion_fd(), POLLIN, 0};
    ::poll(&p, 1, 100);  // Not a timed assertion: only bounds a hang.
    auto completions = requests.reap();
    if (!completions.empty()) {
      REQUIRE(completions.size() == 1);
      return completions[0];
    }
  }
  FAIL("request never completed");
  return {};
}

}  // namespace kvmm::testing

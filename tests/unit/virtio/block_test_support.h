#pragma once
// A fake driver for the virtio-blk request path: builds descriptor chains in
// a GuestMemory (as Virtqueue::pop() would hand them over), temporary disk
// images, and runs a request to completion on a BlockRequests.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "base/memory/guest_memory.h"
#include "devices/virtio/block/block_io.h"
#include "devices/virtio/block/block_requests.h"
#include "devices/virtio/descriptor_chain.h"

namespace kvmm::testing {

using Bytes = std::vector<uint8_t>;

// Buffers are laid out one after another in guest memory from `base`;
// builders whose chains are in flight together need different bases.
class ChainBuilder {
 public:
  explicit ChainBuilder(const GuestMemory& memory, uint16_t head = 0, uint64_t base = 0x1000)
      : memory_(memory), next_(base) {
    chain_.head = head;
  }

  ChainBuilder& readable(const Bytes& bytes) {
    ChainBuffer buffer = allocate(bytes.size());
    if (!bytes.empty()) std::memcpy(buffer.host.data(), bytes.data(), bytes.size());
    chain_.readable.push_back(buffer);
    chain_.readable_bytes += bytes.size();
    return *this;
  }
  // Pre-filled with 0xee, so a test sees what the device wrote.
  ChainBuilder& writable(size_t length) {
    ChainBuffer buffer = allocate(length);
    std::memset(buffer.host.data(), 0xee, length);
    chain_.writable.push_back(buffer);
    chain_.writable_bytes += length;
    return *this;
  }
  // Starts the next buffer `bytes` past a 4 KiB boundary, as a driver with
  // unaligned buffers would.
  ChainBuilder& misalign_next(uint64_t bytes) {
    misalign_ = bytes;
    return *this;
  }
  const DescriptorChain& chain() const { return chain_; }

  // The bytes of writable buffer `index`.
  Bytes written(size_t index) const {
    const auto& host = chain_.writable.at(index).host;
    return Bytes(host.begin(), host.end());
  }
  uint8_t status() const { return chain_.writable.back().host.back(); }

 private:
  ChainBuffer allocate(size_t length) {
    // 512-aligned, as Linux's block layer aligns buffers (and O_DIRECT needs).
    next_ = ((next_ + 4095) & ~uint64_t{4095}) + misalign_;
    misalign_ = 0;
    auto host = memory_.slice(GuestAddress{next_}, length);
    REQUIRE(host.has_value());
    ChainBuffer buffer{GuestAddress{next_}, *host};
    next_ += length;
    return buffer;
  }

  const GuestMemory& memory_;
  DescriptorChain chain_;
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

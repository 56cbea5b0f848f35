#pragma once
// Sequential access to the bytes of a descriptor chain (virtio 1.2 §2.7.5):
// a ChainReader walks the readable (driver→device) buffers, a ChainWriter the
// writable (device→driver) ones, each as one contiguous byte stream however
// the driver split it into descriptors. Both are thin over one ChainCursor
// (rust-vmm's DescriptorChainConsumer, crosvm's DescriptorChainRegions).
// iovecs_for() gives scatter-gather lists over a byte range of either side,
// for preadv/pwritev/io_uring.
//
// The buffers alias guest memory the guest may change at any moment: a
// reader copies bytes out, and a header is only trustworthy once copied.
#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "devices/virtio/descriptor_chain.h"

namespace kvmm {

// A position (buffer index, offset within it) in the concatenated bytes of
// one side of a chain. Buffer sizes are guest-controlled but were checked by
// Virtqueue::pop(): each lies in guest memory and their sum did not overflow.
class ChainCursor {
 public:
  explicit ChainCursor(std::span<const ChainBuffer> buffers);

  uint64_t remaining() const { return remaining_; }
  uint64_t consumed() const { return consumed_; }

  // Moves `count` bytes forward, calling visit(uint8_t* piece, uint64_t len)
  // for each contiguous, non-empty piece. False, visiting and moving nothing,
  // when fewer than `count` bytes remain.
  template <typename Visit>
  [[nodiscard]] bool advance(uint64_t count, Visit&& visit) {
    if (count > remaining_) return false;
    remaining_ -= count;
    consumed_ += count;
    while (count > 0) {
      const std::span<uint8_t> host = buffers_[index_].host;
      const uint64_t piece = std::min<uint64_t>(count, host.size() - offset_);
      visit(host.data() + offset_, piece);
      count -= piece;
      offset_ += piece;
      settle();
    }
    return true;
  }

 private:
  // Steps over buffers that are exhausted (or empty), so index_ names a
  // buffer with bytes left while any remain.
  void settle();

  std::span<const ChainBuffer> buffers_;
  size_t index_ = 0;     // Current buffer.
  uint64_t offset_ = 0;  // Within the current buffer.
  uint64_t remaining_ = 0;
  uint64_t consumed_ = 0;
};

class ChainReader {
 public:
  explicit ChainReader(std::span<const ChainBuffer> buffers) : cursor_(buffers) {}

  uint64_t remaining() const { return cursor_.remaining(); }
  uint64_t consumed() const { return cursor_.consumed(); }

  // Copies out.size() bytes and advances; false (and nothing consumed) when
  // fewer remain.
  [[nodiscard]] bool read(std::span<uint8_t> out);
  // Skips `count` bytes; false when fewer remain.
  [[nodiscard]] bool skip(uint64_t count);

  template <typename T>
  std::optional<T> read_obj() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    if (!read(std::span(reinterpret_cast<uint8_t*>(&value), sizeof(T)))) return std::nullopt;
    return value;
  }

 private:
  ChainCursor cursor_;
};

class ChainWriter {
 public:
  explicit ChainWriter(std::span<const ChainBuffer> buffers) : cursor_(buffers) {}

  uint64_t remaining() const { return cursor_.remaining(); }
  // Bytes written so far: what the used ring reports (§2.7.8).
  uint64_t written() const { return cursor_.consumed(); }

  // Copies all of `in` and advances; false (and nothing written) when it
  // does not fit.
  [[nodiscard]] bool write(std::span<const uint8_t> in);
  // Copies as much of `in` as fits and advances; returns how much that was.
  size_t write_some(std::span<const uint8_t> in);
  [[nodiscard]] bool skip(uint64_t count);

  template <typename T>
  [[nodiscard]] bool write_obj(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    return write(std::span(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }

 private:
  ChainCursor cursor_;
};

// iovecs covering [offset, offset+length) of the concatenated buffers, or
// nullopt when the range does not fit (checked without overflow). Empty
// pieces are left out.
std::optional<std::vector<iovec>> iovecs_for(std::span<const ChainBuffer> buffers, uint64_t offset,
                                             uint64_t length);

}  // namespace kvmm

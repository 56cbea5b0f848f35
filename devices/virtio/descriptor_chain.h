#pragma once
// One request from the driver: a descriptor chain (virtio 1.2 §2.7.5),
// already walked and checked by Virtqueue::pop(). Every buffer's whole range
// lies inside guest memory; readable (driver→device) buffers all come before
// writable (device→driver) ones (§2.7.4.2), and the byte totals did not
// overflow.
//
// The host spans alias guest memory that the running guest can change at
// any moment: copy a header out before looking at it (ChainReader does).
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <stdexcept>
#include <vector>

#include "base/memory/guest_address.h"

namespace kvmm {

struct ChainBuffer {
  GuestAddress gpa;
  std::span<uint8_t> host;
};

// The buffers of one side of a chain, in order. Chains are short in the
// common case (a virtio-blk request is header, data, status; a TX frame one
// or two buffers), so the first kInline live in the object and only a longer
// chain allocates (crosvm keeps its regions in a SmallVec for the same reason).
class ChainBuffers {
 public:
  static constexpr size_t kInline = 8;
  using const_iterator = const ChainBuffer*;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  void push_back(const ChainBuffer& buffer) {
    if (size_ < kInline && heap_.empty()) {
      inline_[size_] = buffer;
    } else {
      if (heap_.empty()) heap_.assign(inline_.begin(), inline_.end());
      heap_.push_back(buffer);
    }
    ++size_;
  }
  void clear() {
    size_ = 0;
    heap_.clear();
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const ChainBuffer* data() const { return heap_.empty() ? inline_.data() : heap_.data(); }
  const ChainBuffer& operator[](size_t i) const { return data()[i]; }
  const ChainBuffer& at(size_t i) const {
    if (i >= size_) throw std::out_of_range("ChainBuffers::at");
    return data()[i];
  }
  const ChainBuffer& front() const { return data()[0]; }
  const ChainBuffer& back() const { return data()[size_ - 1]; }
  const_iterator begin() const { return data(); }
  const_iterator end() const { return data() + size_; }
  const_reverse_iterator rbegin() const { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const { return const_reverse_iterator(begin()); }
  operator std::span<const ChainBuffer>() const { return {data(), size_}; }

 private:
  std::array<ChainBuffer, kInline> inline_{};
  std::vector<ChainBuffer> heap_;  // Every buffer, once there are more than kInline.
  size_t size_ = 0;
};

struct DescriptorChain {
  uint16_t head = 0;  // Returned to the driver in the used ring.
  ChainBuffers readable;
  ChainBuffers writable;
  uint64_t readable_bytes = 0;
  uint64_t writable_bytes = 0;
};

}  // namespace kvmm

#pragma once
// One request from the driver: a descriptor chain (virtio 1.2 §2.7.5),
// already walked and checked by Virtqueue::pop(). Every buffer's whole range
// lies inside guest memory; readable (driver→device) buffers all come before
// writable (device→driver) ones (§2.7.4.2), and the byte totals did not
// overflow.
//
// The host spans alias guest memory that the running guest can change at
// any moment: copy a header out before looking at it (ChainReader does).
#include <cstdint>
#include <span>
#include <vector>

#include "base/memory/guest_address.h"

namespace kvmm {

struct ChainBuffer {
  GuestAddress gpa;
  std::span<uint8_t> host;
};

struct DescriptorChain {
  uint16_t head = 0;  // Returned to the driver in the used ring.
  std::vector<ChainBuffer> readable;
  std::vector<ChainBuffer> writable;
  uint64_t readable_bytes = 0;
  uint64_t writable_bytes = 0;
};

}  // namespace kvmm

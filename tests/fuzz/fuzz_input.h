#pragma once
// The fuzz input read as a stream of numbers, for every target that builds
// its scenario from it. Past the end it reads zeros, so any input is a
// whole scenario.
#include <cstddef>
#include <cstdint>

namespace kvmm::fuzz {

struct Input {
  const uint8_t* data;
  size_t size;

  bool empty() const { return size == 0; }
  uint8_t byte() {
    if (size == 0) return 0;
    --size;
    return *data++;
  }
  // `bytes` bytes, most significant first.
  uint32_t number(int bytes) {
    uint32_t value = 0;
    for (int i = 0; i < bytes; ++i) value = value << 8 | byte();
    return value;
  }
  // Four bytes, least significant first (a register value as the guest writes it).
  uint32_t le32() {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(byte()) << (8 * i);
    return value;
  }
};

}  // namespace kvmm::fuzz

#pragma once
// The one interface between the exit loop and every device.
//
// `offset` is relative to the base the device was inserted at, so a device
// never needs to know where it lives. `data` is exactly the access width
// (1, 2, 4 or 8 bytes, little-endian). For reads the bus zero-fills `data`
// first, so a device that handles only some bytes leaks no stale values.
//
// Devices are called from vCPU threads, possibly several at once: a device
// with state guards it with its own mutex.
#include <cstdint>
#include <span>

namespace kvmm {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

}  // namespace kvmm

#pragma once
// The boot marker ports: a guest records that it reached a point of its boot,
// and `kvmm run --boot-trace` timestamps it (Firecracker's boot timer device
// serves the same purpose).
//
//   offset 0     the phase byte: a write marks that phase at once. The
//                default guest's init writes 1 when it starts, 2 when its
//                modules are loaded and 3 when it is ready.
//   offsets 1-4  optional: the guest's own clock at that phase, in ms,
//                little-endian, each byte written after the phase byte;
//                the write of offset 4 completes it. With it the trace can
//                place the kernel's start, which the host does not see.
//
// One byte per port, so a guest writes the five through /dev/port in one
// `dd` (each byte reaches the next port), with no 32-bit port access.
// Threads: writes come from vCPU threads; `mutex_` guards the bytes a
// phase's clock is assembled from.
#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "base/bus/bus_device.h"

namespace kvmm {

struct BootMarkerEvent {
  uint8_t phase = 0;
  // Set once the guest has written its clock for this phase.
  std::optional<uint32_t> guest_clock_ms;
};

class BootMarker : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0x502;
  static constexpr uint64_t kSize = 5;
  using Handler = std::function<void(const BootMarkerEvent&)>;
  explicit BootMarker(Handler on_mark) : on_mark_(std::move(on_mark)) {}

  void read(uint64_t, std::span<uint8_t>) override {}
  // Guest-controlled; any value is fine. Wider writes reach the bytes they
  // cover, in order.
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    for (size_t i = 0; i < data.size() && offset + i < kSize; ++i) write_byte(offset + i, data[i]);
  }

 private:
  void write_byte(uint64_t offset, uint8_t value) {
    BootMarkerEvent event;
    {
      std::lock_guard lock(mutex_);
      if (offset == 0) {
        phase_ = value;
        event.phase = value;
      } else {
        clock_[offset - 1] = value;
        if (offset != kSize - 1) return;
        event.phase = phase_;
        event.guest_clock_ms = uint32_t{clock_[0]} | uint32_t{clock_[1]} << 8 |
                               uint32_t{clock_[2]} << 16 | uint32_t{clock_[3]} << 24;
      }
    }
    on_mark_(event);
  }

  Handler on_mark_;
  std::mutex mutex_;
  uint8_t phase_ = 0;
  std::array<uint8_t, 4> clock_{};
};

}  // namespace kvmm

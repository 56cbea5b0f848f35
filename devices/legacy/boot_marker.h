#pragma once
// The boot marker port: a guest writes a byte to record that it reached a
// point of its boot (the default guest's init writes 1 when it reaches
// init). `kvmm run --boot-trace` timestamps it. Firecracker's boot timer
// device serves the same purpose.
#include <cstdint>
#include <functional>

#include "base/bus/bus_device.h"

namespace kvmm {

class BootMarker : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0x502;
  explicit BootMarker(std::function<void(uint8_t)> on_mark) : on_mark_(std::move(on_mark)) {}

  void read(uint64_t, std::span<uint8_t>) override {}
  void write(uint64_t, std::span<const uint8_t> data) override {
    if (!data.empty()) on_mark_(data[0]);  // Guest-controlled; any value is fine.
  }

 private:
  std::function<void(uint8_t)> on_mark_;
};

}  // namespace kvmm

#pragma once
// kvmm's test device: 16 bytes of scratch storage that reads back what was
// written. Mapped both as ports and as MMIO so guests can exercise (and
// benchmarks can time) each kind of user-space exit against a device that
// does almost no work. Where its MMIO window goes is the platform's choice
// (kTestDeviceMmioAddress in vmm/arch/x86/layout.h).
#include <array>
#include <cstdint>
#include <mutex>
#include <span>

#include "base/bus/bus_device.h"

namespace kvmm {

class TestDevice : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0x520;
  static constexpr uint64_t kSize = 16;

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  std::mutex mutex_;  // Guards scratch_.
  std::array<uint8_t, kSize> scratch_{};
};

}  // namespace kvmm

#pragma once
// Just enough of the PC keyboard controller (ports 0x60, 0x64) for the
// oldest reboot path: command 0xFE written to port 0x64 pulses the CPU reset
// line. Linux uses it with `reboot=k` and when ACPI is off. There is no
// keyboard: status reads return all ones, which makes Linux's i8042 probe
// give up at once ("No controller found"), as on a machine without one.
#include <cstdint>
#include <functional>

#include "vmm/bus/bus_device.h"

namespace kvmm {

class I8042 : public BusDevice {
 public:
  static constexpr uint16_t kDataPort = 0x60;
  static constexpr uint16_t kCommandPort = 0x64;
  static constexpr uint64_t kSize = 5;  // 0x60..0x64

  explicit I8042(std::function<void()> on_reset) : on_reset_(std::move(on_reset)) {}

  void read(uint64_t, std::span<uint8_t> data) override {
    for (uint8_t& b : data) b = 0xff;
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    constexpr uint8_t kPulseResetLine = 0xfe;
    if (offset == kCommandPort - kDataPort && !data.empty() && data[0] == kPulseResetLine) {
      on_reset_();
    }
  }

 private:
  std::function<void()> on_reset_;
};

}  // namespace kvmm

#pragma once
// Just enough of the PC keyboard controller (ports 0x60, 0x64) for the
// oldest reboot path: command 0xFE written to port 0x64 pulses the CPU reset
// line. Linux uses it with `reboot=k`, when ACPI is off, and kvmm's reset
// vector stub uses it too. There is no keyboard. Reads return 0: a status
// with the input buffer empty, so Linux's reboot code (which waits for that
// before each 0xFE, polling up to 65536 times) writes at once; and no output
// ever becomes ready, so an i8042 probe (only with acpi=off: the FADT says
// there is no 8042) times out and gives up.
#include <cstdint>
#include <functional>

#include "base/bus/bus_device.h"

namespace kvmm {

class I8042 : public BusDevice {
 public:
  static constexpr uint16_t kDataPort = 0x60;
  static constexpr uint16_t kCommandPort = 0x64;
  static constexpr uint64_t kSize = 5;  // 0x60..0x64

  explicit I8042(std::function<void()> on_reset) : on_reset_(std::move(on_reset)) {}

  void read(uint64_t, std::span<uint8_t>) override {}  // The bus zero-fills reads.
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

#pragma once
// The hardware-reduced ACPI registers that end a guest (ACPI 6.4 §4.8.3.7,
// §4.8.3.6): the sleep control register (a write with SLP_EN set asks for
// the sleep state SLP_TYP; S5 is "soft off"), the sleep status register,
// and the reset register. Three consecutive byte ports; the FADT tells the
// guest where they are.
#include <cstdint>
#include <functional>

#include "base/bus/bus_device.h"

namespace kvmm {

class AcpiPower : public BusDevice {
 public:
  static constexpr uint64_t kSleepControlOffset = 0;
  static constexpr uint64_t kSleepStatusOffset = 1;
  static constexpr uint64_t kResetOffset = 2;
  static constexpr uint64_t kSize = 3;

  struct Handlers {
    std::function<void(uint8_t sleep_type)> on_sleep;  // SLP_TYP of the request.
    std::function<void()> on_reset;
  };
  AcpiPower(uint8_t reset_value, Handlers handlers)
      : reset_value_(reset_value), handlers_(std::move(handlers)) {}

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  uint8_t reset_value_;
  Handlers handlers_;
};

}  // namespace kvmm

#include "devices/power/acpi_power.h"

namespace kvmm {

namespace {
constexpr uint8_t kSleepEnable = 1 << 5;  // SLP_EN
constexpr uint8_t kWakeStatus = 1 << 7;   // WAK_STS
}  // namespace

void AcpiPower::read(uint64_t offset, std::span<uint8_t> data) {
  if (data.empty()) return;
  // The guest polls WAK_STS after a sleep request; report "woken" so a
  // request that did not end the VM (a sleep state we do not support)
  // returns instead of spinning forever.
  if (offset == kSleepStatusOffset) data[0] = kWakeStatus;
}

void AcpiPower::write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  const uint8_t value = data[0];  // Guest-controlled.
  if (offset == kSleepControlOffset && (value & kSleepEnable) != 0) {
    handlers_.on_sleep(static_cast<uint8_t>((value >> 2) & 0x7));
  } else if (offset == kResetOffset && value == reset_value_) {
    handlers_.on_reset();
  }
}

}  // namespace kvmm

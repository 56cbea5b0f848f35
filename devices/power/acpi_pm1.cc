#include "devices/power/acpi_pm1.h"

#include <optional>

namespace kvmm {

namespace {

// The 6 bytes as one little-endian value: PM1_STS, PM1_EN, PM1_CNT.
constexpr unsigned kEnableShift = 16;
constexpr unsigned kControlShift = 32;

}  // namespace

void AcpiPm1::read(uint64_t offset, std::span<uint8_t> data) {
  uint64_t bytes = 0;
  {
    std::lock_guard lock(mutex_);
    bytes = uint64_t{status_} | uint64_t{enable_} << kEnableShift |
            uint64_t{static_cast<uint16_t>(control_ | kSciEnable)} << kControlShift;
  }
  for (size_t i = 0; i < data.size() && offset + i < kSize; ++i) {
    data[i] = static_cast<uint8_t>(bytes >> (8 * (offset + i)));
  }
}

void AcpiPm1::write(uint64_t offset, std::span<const uint8_t> data) {
  std::optional<uint8_t> sleep_type;
  {
    std::lock_guard lock(mutex_);
    uint16_t control = control_;
    bool sleep = false;
    for (size_t i = 0; i < data.size() && offset + i < kSize; ++i) {
      const uint64_t at = offset + i;
      const uint16_t value = data[i];  // Guest-controlled.
      const unsigned shift = 8 * (at % 2);
      if (at < kEventOffset + 2) {
        status_ = static_cast<uint16_t>(status_ & ~(value << shift));  // Write 1 to clear.
      } else if (at < kEventOffset + kEventSize) {
        enable_ = static_cast<uint16_t>((enable_ & ~(0xff << shift)) | value << shift);
      } else {
        control = static_cast<uint16_t>((control & ~(0xff << shift)) | value << shift);
        if (shift != 0 && ((value << shift) & kSleepEnable) != 0) sleep = true;
      }
    }
    control_ = static_cast<uint16_t>(control & ~kSleepEnable & ~kSciEnable);
    if (sleep) sleep_type = static_cast<uint8_t>((control >> kSleepTypeShift) & kSleepTypeMask);
  }
  if (sleep_type && on_sleep_) on_sleep_(*sleep_type);
}

void AcpiPm1::rtc_alarm() {
  std::lock_guard lock(mutex_);
  status_ |= kRtcStatus;
}

bool AcpiPm1::wake_pending() const {
  std::lock_guard lock(mutex_);
  return (status_ & kRtcStatus) != 0 && (enable_ & kRtcEnable) != 0;
}

void AcpiPm1::set_woken() {
  std::lock_guard lock(mutex_);
  status_ |= kWakeStatus;
}

}  // namespace kvmm

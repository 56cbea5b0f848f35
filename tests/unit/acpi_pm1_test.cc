#include "devices/power/acpi_pm1.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using kvmm::AcpiPm1;

namespace {

struct Pm1 {
  std::vector<uint8_t> sleeps;
  AcpiPm1 device{[this](uint8_t type) { sleeps.push_back(type); }};

  void out16(uint64_t offset, uint16_t value) {
    const uint8_t data[2] = {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8)};
    device.write(offset, data);
  }
  uint16_t in16(uint64_t offset) {
    uint8_t data[2] = {0, 0};
    device.read(offset, data);
    return static_cast<uint16_t>(data[0] | data[1] << 8);
  }
};

}  // namespace

TEST_CASE("PM1a: SLP_EN with SLP_TYP asks for that sleep state, and SLP_TYP reads back") {
  Pm1 pm1;
  CHECK(pm1.in16(AcpiPm1::kControlOffset) == AcpiPm1::kSciEnable);
  pm1.out16(AcpiPm1::kControlOffset, 0x2400);  // SLP_EN | SLP_TYP 1: kvm-unit-tests' s3.
  CHECK(pm1.sleeps == std::vector<uint8_t>{1});
  CHECK(pm1.in16(AcpiPm1::kControlOffset) == (0x0400 | AcpiPm1::kSciEnable));  // SLP_EN reads 0.
  pm1.out16(AcpiPm1::kControlOffset, 5 << 10);  // SLP_TYP without SLP_EN: no request.
  CHECK(pm1.sleeps.size() == 1);
  // The high byte alone, as an outb to PM1a_CNT + 1.
  const uint8_t high[1] = {0x20 | (5 << 2)};
  pm1.device.write(AcpiPm1::kControlOffset + 1, high);
  CHECK(pm1.sleeps == std::vector<uint8_t>{1, 5});
  // The low byte with bit 5 set is no SLP_EN.
  const uint8_t low[1] = {0x20};
  pm1.device.write(AcpiPm1::kControlOffset, low);
  CHECK(pm1.sleeps.size() == 2);
}

TEST_CASE("PM1a: PM1_EN reads back, PM1_STS bits clear on writing 1") {
  Pm1 pm1;
  pm1.out16(AcpiPm1::kEventOffset + 2, AcpiPm1::kRtcEnable);  // s3.c's outw(0x400, evt + 2).
  CHECK(pm1.in16(AcpiPm1::kEventOffset + 2) == AcpiPm1::kRtcEnable);
  CHECK_FALSE(pm1.device.wake_pending());
  pm1.device.rtc_alarm();
  CHECK(pm1.device.wake_pending());
  pm1.device.set_woken();
  CHECK(pm1.in16(AcpiPm1::kEventOffset) == (AcpiPm1::kWakeStatus | AcpiPm1::kRtcStatus));
  pm1.out16(AcpiPm1::kEventOffset, AcpiPm1::kWakeStatus);
  CHECK(pm1.in16(AcpiPm1::kEventOffset) == AcpiPm1::kRtcStatus);
  // A 32-bit write: clears RTC_STS and disables the RTC wake in one go.
  const uint8_t both[4] = {0x00, 0x04, 0x00, 0x00};
  pm1.device.write(AcpiPm1::kEventOffset, both);
  CHECK(pm1.in16(AcpiPm1::kEventOffset) == 0);
  CHECK(pm1.in16(AcpiPm1::kEventOffset + 2) == 0);
  pm1.device.rtc_alarm();
  CHECK_FALSE(pm1.device.wake_pending());  // RTC_EN clear.
  CHECK(pm1.sleeps.empty());
}

TEST_CASE("PM1a: accesses past the block are cut off") {
  Pm1 pm1;
  uint8_t wide[4] = {0xaa, 0xaa, 0xaa, 0xaa};
  pm1.device.read(AcpiPm1::kControlOffset, wide);
  CHECK(wide[2] == 0xaa);  // Not touched: past the 6 bytes.
  const uint8_t data[4] = {0, 0x24, 0xff, 0xff};
  pm1.device.write(AcpiPm1::kControlOffset, data);
  CHECK(pm1.sleeps == std::vector<uint8_t>{1});
}

#pragma once
// The ACPI power-management timer (ACPI 6.4 §4.8.3.3, PM_TMR_BLK): a
// read-only 4-byte I/O register counting at 3.579545 MHz. It is 24 bits
// wide, like QEMU's (the FADT leaves TMR_VAL_EXT clear), so it wraps every
// 2^24 ticks, about 4.7 s; guests handle the wrap. kvm-unit-tests' vmexit
// test times its `inl` exits against it.
//
// The count is derived from a clock on every read, so the device holds no
// state and takes no lock. Reads of 1, 2 or 4 bytes return those bytes of
// the register; writes are ignored.
#include <cstdint>
#include <functional>
#include <span>

#include "base/bus/bus_device.h"

namespace kvmm {

class PmTimer : public BusDevice {
 public:
  static constexpr uint64_t kSize = 4;
  static constexpr uint64_t kFrequencyHz = 3'579'545;
  static constexpr uint32_t kCounterMask = (1u << 24) - 1;

  // Nanoseconds from any fixed origin; CLOCK_MONOTONIC by default.
  using Clock = std::function<uint64_t()>;
  static uint64_t monotonic_ns();

  explicit PmTimer(Clock now_ns = monotonic_ns) : now_ns_(std::move(now_ns)) {}

  // Ticks of a kFrequencyHz clock in `ns` nanoseconds, rounded down, exact
  // for any 64-bit `ns` (modulo 2^64, which the 24-bit counter never sees).
  static uint64_t ticks(uint64_t ns);

  // The register's value now.
  uint32_t value() const { return static_cast<uint32_t>(ticks(now_ns_()) & kCounterMask); }

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t, std::span<const uint8_t>) override {}  // Read-only.

 private:
  Clock now_ns_;
};

}  // namespace kvmm

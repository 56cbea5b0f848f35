#pragma once
// The register behind the ACPI Generic Event Device (ACPI 6.4 §5.6.9): how
// the machine tells a hardware-reduced guest that something happened — for
// now only "the power button was pressed". The DSDT describes the device
// (_HID ACPI0013) with one interrupt and an _EVT method; the guest's GED
// driver runs _EVT on each interrupt, and _EVT reads this register to learn
// which events are pending, then notifies the matching device (the power
// button: Notify(PWRB, 0x80)).
//
// One 32-bit register at offset 0, one bit per event. A 4-byte read returns
// the pending events and clears them (_EVT reads it exactly once per call,
// through a DWordAcc field); any other read returns 0 and clears nothing;
// writes are ignored. The interrupt is level-triggered: asserted from the
// first pending event until the read that clears it, so an event raised
// while the guest's handler runs is neither lost nor taken twice.
//
// Threads: read()/write() come from vCPU threads, notify() from any thread
// (the one that presses the power button). `mutex_` guards the pending bits
// and is held across the interrupt-line call, so the line's last level
// always matches the bits; the line callback must therefore not call back
// into this device.
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "base/bus/bus_device.h"

namespace kvmm {

class GenericEventDevice : public BusDevice {
 public:
  // Event bits of the register; the DSDT's _EVT tests the same values.
  static constexpr uint32_t kPowerButtonEvent = 1u << 0;
  static constexpr uint64_t kSize = 4;

  // Called with the interrupt's new level each time it changes.
  using InterruptLine = std::function<void(bool asserted)>;
  explicit GenericEventDevice(InterruptLine interrupt) : interrupt_(std::move(interrupt)) {}

  // Latches `events` (kPowerButtonEvent, …) and asserts the interrupt.
  void notify(uint32_t events);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  InterruptLine interrupt_;
  std::mutex mutex_;
  uint32_t pending_ = 0;  // Guarded by mutex_.
};

}  // namespace kvmm

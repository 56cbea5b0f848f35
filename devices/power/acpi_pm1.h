#pragma once
// The PC-style ACPI fixed-hardware registers of the PM1a blocks (ACPI 6.4
// §4.8.3.1, §4.8.3.2), for guests written for PCs (kvm-unit-tests): one
// device for both blocks, which the FADT names at consecutive ports.
//
//   kEventOffset + 0  PM1_STS (16 bits): status bits, each cleared by
//                     writing 1 to it. kvmm sets RTC_STS when the RTC alarm
//                     fires and WAK_STS when the guest wakes from a sleep.
//   kEventOffset + 2  PM1_EN (16 bits): enable bits, read back as written;
//                     RTC_EN makes the RTC alarm a wake event.
//   kControlOffset    PM1_CNT (16 bits): SCI_EN reads 1 (there is no legacy
//                     mode to leave: the FADT has no SMI_CMD); SLP_TYP
//                     (bits 12-10) reads back; a write with SLP_EN (bit 13,
//                     write-only) asks for the sleep state SLP_TYP.
//
// Accesses of any width and offset inside the 6 bytes reach the bytes they
// cover (a guest may outb the high byte of PM1_CNT alone).
//
// Threads: read()/write() come from vCPU threads, rtc_alarm() from whichever
// thread brought the RTC up to date, wake_pending() and set_woken() from the
// machine's main thread. `mutex_` guards the registers; on_sleep is called
// after it is released, on the vCPU thread that wrote SLP_EN.
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "base/bus/bus_device.h"

namespace kvmm {

class AcpiPm1 : public BusDevice {
 public:
  static constexpr uint64_t kEventOffset = 0;
  static constexpr uint64_t kEventSize = 4;
  static constexpr uint64_t kControlOffset = 4;
  static constexpr uint64_t kControlSize = 2;
  static constexpr uint64_t kSize = 6;

  // PM1_STS (Table 4.16), PM1_EN (Table 4.17), PM1_CNT (Table 4.18).
  static constexpr uint16_t kRtcStatus = 1u << 10;
  static constexpr uint16_t kWakeStatus = 1u << 15;
  static constexpr uint16_t kRtcEnable = 1u << 10;
  static constexpr uint16_t kSciEnable = 1u << 0;
  static constexpr uint16_t kSleepTypeShift = 10;
  static constexpr uint16_t kSleepTypeMask = 0x7;
  static constexpr uint16_t kSleepEnable = 1u << 13;

  // Called with SLP_TYP when the guest writes SLP_EN.
  using SleepRequest = std::function<void(uint8_t sleep_type)>;
  explicit AcpiPm1(SleepRequest on_sleep) : on_sleep_(std::move(on_sleep)) {}

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // The RTC alarm fired: sets RTC_STS.
  void rtc_alarm();
  // A wake event is pending: RTC_STS with RTC_EN.
  bool wake_pending() const;
  // The guest wakes: sets WAK_STS (the guest polls it after a sleep).
  void set_woken();

 private:
  const SleepRequest on_sleep_;
  mutable std::mutex mutex_;  // Guards the three registers.
  uint16_t status_ = 0;
  uint16_t enable_ = 0;
  uint16_t control_ = 0;  // SLP_TYP and the bits below it; never SLP_EN.
};

}  // namespace kvmm

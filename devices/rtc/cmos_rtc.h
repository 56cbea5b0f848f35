#pragma once
// The PC's CMOS real-time clock, a Motorola MC146818 (its datasheet's
// register names): an index port and a data port, 128 bytes behind them.
//
//   kPort (0x70), write: the index of the byte the data port reaches (bit 7,
//     the PC's NMI mask, is ignored). Reads return 0xff, as QEMU's do.
//   kPort + 1 (0x71): the byte at the index.
//
// The bytes:
//   0, 2, 4  seconds, minutes, hours; 6 day of week (1 = Sunday), 7 day of
//            month, 8 month, 9 year (two digits), kCentury (0x32) century:
//            the host's wall-clock time (UTC) plus whatever offset the
//            guest's writes to them set. BCD or binary as register B's DM
//            bit says, hours in 24- or 12-hour form (bit 7 = PM) as its
//            24/12 bit says. A written value that is no valid time is
//            ignored (a rate-limited log line); the day of week follows the
//            date and ignores writes.
//   1, 3, 5  the alarm's seconds, minutes and hours, in the same format; a
//            value with both top bits set (0xc0-0xff) is "don't care".
//   A (0x0a) UIP (bit 7, read-only) is set during the last kUipNs of each
//            second, the datasheet's t_BUC (244 us) + t_UC (1984 us), so a
//            guest that polls it sees it rise and fall; the divider and
//            rate-select bits read back what was written (RS sets the
//            periodic rate).
//   B (0x0b) SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE: read back as written.
//            While SET is set UIP stays clear and no update or alarm flag is
//            set; the time itself keeps running with the host's.
//   C (0x0c) IRQF, PF, AF, UF: read-only, cleared by the read. UF is set at
//            each second boundary, AF at a boundary whose time matches the
//            alarm, PF at each period of register A's rate; IRQF when one of
//            them is set together with its enable bit in B.
//   D (0x0d) VRT (0x80): the battery is good.
//   the rest CMOS RAM, as written (zero at power-on).
//
// The interrupt (IRQ 8 on a PC) is raised when IRQF becomes set and lowered
// when register C is read, as QEMU's mc146818rtc does: one edge per event.
// Each time the alarm raises it, `on_alarm` is called too (the ACPI RTC
// wake event).
//
// Nothing ticks inside the device: the flags are brought up to the clock at
// each access and at poll(), which the machine calls at next_event_ns(), so
// an enabled interrupt arrives on time with no guest access.
//
// Threads: read()/write() come from vCPU threads, poll() and
// next_event_ns() from the machine's main thread. `mutex_` guards the
// state and is held across the interrupt-line call (the line's level then
// always matches IRQF); on_alarm is called after it is released. Neither
// callback may call back into this device.
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

#include "base/bus/bus_device.h"
#include "base/util/rate_limited_log.h"

namespace kvmm {

class CmosRtc : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0x70;
  static constexpr uint64_t kSize = 2;
  static constexpr unsigned kIrq = 8;
  static constexpr uint8_t kCentury = 0x32;
  static constexpr uint64_t kUipNs = 244'000 + 1'984'000;

  // Register indexes and bits (MC146818 datasheet).
  static constexpr uint8_t kSeconds = 0x00;
  static constexpr uint8_t kSecondsAlarm = 0x01;
  static constexpr uint8_t kMinutes = 0x02;
  static constexpr uint8_t kMinutesAlarm = 0x03;
  static constexpr uint8_t kHours = 0x04;
  static constexpr uint8_t kHoursAlarm = 0x05;
  static constexpr uint8_t kDayOfWeek = 0x06;
  static constexpr uint8_t kDayOfMonth = 0x07;
  static constexpr uint8_t kMonth = 0x08;
  static constexpr uint8_t kYear = 0x09;
  static constexpr uint8_t kRegisterA = 0x0a;
  static constexpr uint8_t kRegisterB = 0x0b;
  static constexpr uint8_t kRegisterC = 0x0c;
  static constexpr uint8_t kRegisterD = 0x0d;
  static constexpr uint8_t kUip = 0x80;  // A
  static constexpr uint8_t kSet = 0x80;  // B
  static constexpr uint8_t kPie = 0x40;
  static constexpr uint8_t kAie = 0x20;
  static constexpr uint8_t kUie = 0x10;
  static constexpr uint8_t kBinary = 0x04;
  static constexpr uint8_t k24Hour = 0x02;
  static constexpr uint8_t kIrqf = 0x80;  // C
  static constexpr uint8_t kPf = 0x40;
  static constexpr uint8_t kAf = 0x20;
  static constexpr uint8_t kUf = 0x10;
  static constexpr uint8_t kVrt = 0x80;  // D
  static constexpr uint8_t kAlarmDontCare = 0xc0;

  // Nanoseconds since the Unix epoch, UTC: CLOCK_REALTIME by default.
  using Clock = std::function<uint64_t()>;
  static uint64_t realtime_ns();

  struct Callbacks {
    std::function<void(bool level)> interrupt;  // IRQ kIrq.
    std::function<void()> on_alarm;             // Empty: nothing to tell.
  };
  explicit CmosRtc(Callbacks callbacks, Clock now_ns = realtime_ns);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Brings the flags up to the clock, raising what they enable.
  void poll();
  // The clock's time at which poll() next has a flag to set that an enable
  // bit of B turns into an interrupt; nullopt when none is enabled.
  std::optional<uint64_t> next_event_ns();

 private:
  // The RTC's own time: the host's plus offset_seconds_.
  int64_t rtc_seconds(uint64_t host_ns) const;
  uint8_t read_register(uint8_t index, uint64_t now);
  void write_register(uint8_t index, uint8_t value, uint64_t now);
  void set_time_field(uint8_t index, uint8_t value, uint64_t now);
  // Sets the flags for the time since the last call, then IRQF and the
  // interrupt; true when the alarm raised the interrupt.
  bool advance(uint64_t now);
  bool update_interrupt();
  bool alarm_matches(int64_t rtc_second) const;
  // log2 of the periodic rate's period in time-base ticks; nullopt: none.
  std::optional<unsigned> period_shift() const;

  const Callbacks callbacks_;
  const Clock now_ns_;
  RateLimitedLog log_{"CMOS RTC: "};
  std::mutex mutex_;  // Guards everything below.
  uint8_t index_ = 0;
  uint8_t bytes_[128] = {};  // RAM, the alarm, A (without UIP), B, C's flags.
  int64_t offset_seconds_ = 0;
  uint64_t last_ns_ = 0;  // When advance() last ran.
  bool interrupt_raised_ = false;
};

}  // namespace kvmm

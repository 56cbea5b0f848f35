#include "devices/rtc/cmos_rtc.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using kvmm::CmosRtc;

namespace {

constexpr uint64_t kSecond = 1'000'000'000;
// 2026-12-05 13:59:58 UTC, a Saturday.
constexpr uint64_t kSaturday = 1'796'479'198 * kSecond;

struct Rtc {
  uint64_t now = kSaturday;
  std::vector<bool> levels;  // Each interrupt-line call.
  int alarms = 0;
  CmosRtc device{CmosRtc::Callbacks{[this](bool level) { levels.push_back(level); },
                                    [this] { ++alarms; }},
                 [this] { return now; }};

  // Register C without PF, which register A's default rate sets every ms.
  uint8_t flags() { return in(CmosRtc::kRegisterC) & ~CmosRtc::kPf; }
  uint8_t in(uint8_t index) {
    const uint8_t select[1] = {index};
    device.write(0, select);
    uint8_t value[1] = {0};
    device.read(1, value);
    return value[0];
  }
  void out(uint8_t index, uint8_t value) {
    const uint8_t select[1] = {index};
    device.write(0, select);
    const uint8_t data[1] = {value};
    device.write(1, data);
  }
};

}  // namespace

TEST_CASE("CMOS RTC reads the host's UTC time in BCD, 24-hour form, by default") {
  Rtc rtc;
  CHECK(rtc.in(CmosRtc::kSeconds) == 0x58);
  CHECK(rtc.in(CmosRtc::kMinutes) == 0x59);
  CHECK(rtc.in(CmosRtc::kHours) == 0x13);
  CHECK(rtc.in(CmosRtc::kDayOfWeek) == 7);  // Saturday; Sunday is 1.
  CHECK(rtc.in(CmosRtc::kDayOfMonth) == 0x05);
  CHECK(rtc.in(CmosRtc::kMonth) == 0x12);
  CHECK(rtc.in(CmosRtc::kYear) == 0x26);
  CHECK(rtc.in(CmosRtc::kCentury) == 0x20);
  CHECK(rtc.in(CmosRtc::kRegisterA) == 0x26);
  CHECK(rtc.in(CmosRtc::kRegisterB) == CmosRtc::k24Hour);
  CHECK(rtc.in(CmosRtc::kRegisterD) == CmosRtc::kVrt);
  // The index port reads 0xff; bit 7 of an index (the NMI mask) is ignored.
  uint8_t index[1] = {0};
  rtc.device.read(0, index);
  CHECK(index[0] == 0xff);
  CHECK(rtc.in(0x80 | CmosRtc::kMinutes) == 0x59);
}

TEST_CASE("CMOS RTC honours register B's binary and 12-hour bits") {
  Rtc rtc;
  rtc.out(CmosRtc::kRegisterB, CmosRtc::kBinary);  // Binary, 12-hour.
  CHECK(rtc.in(CmosRtc::kSeconds) == 58);
  CHECK(rtc.in(CmosRtc::kHours) == (0x80 | 1));  // 1 PM.
  CHECK(rtc.in(CmosRtc::kMonth) == 12);
  rtc.out(CmosRtc::kRegisterB, 0);  // BCD, 12-hour.
  CHECK(rtc.in(CmosRtc::kHours) == 0x81);
  rtc.now = kSaturday - 13 * 3600 * kSecond;  // 00:59:58: 12 AM.
  CHECK(rtc.in(CmosRtc::kHours) == 0x12);
  rtc.now = kSaturday - 1 * 3600 * kSecond;  // 12:59:58: 12 PM.
  CHECK(rtc.in(CmosRtc::kHours) == 0x92);
}

TEST_CASE("CMOS RTC sets UIP for the last 2228 us of each second") {
  Rtc rtc;
  const uint64_t second_end = kSaturday + kSecond;
  rtc.now = second_end - CmosRtc::kUipNs - 1;
  CHECK((rtc.in(CmosRtc::kRegisterA) & CmosRtc::kUip) == 0);
  rtc.now = second_end - CmosRtc::kUipNs;
  CHECK((rtc.in(CmosRtc::kRegisterA) & CmosRtc::kUip) != 0);
  CHECK(rtc.in(CmosRtc::kSeconds) == 0x58);  // The update has not happened yet.
  rtc.now = second_end - 1;
  CHECK((rtc.in(CmosRtc::kRegisterA) & CmosRtc::kUip) != 0);
  rtc.now = second_end;
  CHECK((rtc.in(CmosRtc::kRegisterA) & CmosRtc::kUip) == 0);
  CHECK(rtc.in(CmosRtc::kSeconds) == 0x59);
  // UIP is read-only; the rest of A reads back. SET keeps UIP clear.
  rtc.out(CmosRtc::kRegisterA, 0xa3);
  CHECK(rtc.in(CmosRtc::kRegisterA) == 0x23);
  rtc.out(CmosRtc::kRegisterB, CmosRtc::kSet | CmosRtc::k24Hour);
  rtc.now = second_end + kSecond - 1;
  CHECK((rtc.in(CmosRtc::kRegisterA) & CmosRtc::kUip) == 0);
}

TEST_CASE("CMOS RTC sets UF each second and clears C on reading it") {
  Rtc rtc;
  CHECK(rtc.flags() == 0);
  rtc.now += kSecond;
  CHECK(rtc.flags() == CmosRtc::kUf);  // No IRQF: UIE is clear.
  CHECK(rtc.flags() == 0);
  CHECK(rtc.levels.empty());
  // With UIE, the next update raises the interrupt; reading C lowers it.
  rtc.out(CmosRtc::kRegisterB, CmosRtc::kUie | CmosRtc::k24Hour);
  rtc.now += kSecond;
  rtc.device.poll();
  CHECK(rtc.levels == std::vector<bool>{true});
  CHECK(rtc.flags() == (CmosRtc::kIrqf | CmosRtc::kUf));
  CHECK(rtc.levels == std::vector<bool>{true, false});
  CHECK(rtc.alarms == 0);
}

TEST_CASE("CMOS RTC alarm with don't-care bytes fires every second and calls on_alarm") {
  Rtc rtc;
  rtc.in(CmosRtc::kRegisterC);
  rtc.out(CmosRtc::kSecondsAlarm, CmosRtc::kAlarmDontCare);
  rtc.out(CmosRtc::kMinutesAlarm, CmosRtc::kAlarmDontCare);
  rtc.out(CmosRtc::kHoursAlarm, CmosRtc::kAlarmDontCare);
  rtc.out(CmosRtc::kRegisterB, rtc.in(CmosRtc::kRegisterB) | CmosRtc::kAie);
  CHECK(rtc.levels.empty());
  // The next event is the next second boundary.
  REQUIRE(rtc.device.next_event_ns() == kSaturday + kSecond);
  rtc.now = kSaturday + kSecond - 1;
  rtc.device.poll();
  CHECK(rtc.alarms == 0);
  rtc.now = kSaturday + kSecond;
  rtc.device.poll();
  CHECK(rtc.alarms == 1);
  CHECK(rtc.levels == std::vector<bool>{true});
  // Pending: no new event until C is read.
  CHECK_FALSE(rtc.device.next_event_ns().has_value());
  CHECK(rtc.flags() == (CmosRtc::kIrqf | CmosRtc::kAf | CmosRtc::kUf));
  rtc.now += kSecond;
  CHECK(rtc.flags() == (CmosRtc::kIrqf | CmosRtc::kAf | CmosRtc::kUf));
  CHECK(rtc.alarms == 2);
}

TEST_CASE("CMOS RTC alarm matches its time, in the current format") {
  Rtc rtc;
  // 14:00:05, BCD: seven seconds after 13:59:58.
  rtc.out(CmosRtc::kSecondsAlarm, 0x05);
  rtc.out(CmosRtc::kMinutesAlarm, 0x00);
  rtc.out(CmosRtc::kHoursAlarm, 0x14);
  rtc.out(CmosRtc::kRegisterB, CmosRtc::kAie | CmosRtc::k24Hour);
  CHECK(rtc.device.next_event_ns() == kSaturday + 7 * kSecond);
  rtc.now = kSaturday + 6 * kSecond;
  CHECK((rtc.flags() & CmosRtc::kAf) == 0);
  // Skipped past without a look: the boundary is still found.
  rtc.now = kSaturday + 20 * kSecond;
  CHECK(rtc.flags() == (CmosRtc::kIrqf | CmosRtc::kAf | CmosRtc::kUf));
  CHECK(rtc.alarms == 1);
  // Hours in 12-hour binary form: 2 PM. Tomorrow's 14:00:05 is the next match.
  rtc.out(CmosRtc::kRegisterB, CmosRtc::kAie | CmosRtc::kBinary);
  rtc.out(CmosRtc::kSecondsAlarm, 5);
  rtc.out(CmosRtc::kMinutesAlarm, 0);
  rtc.out(CmosRtc::kHoursAlarm, 0x80 | 2);
  CHECK(rtc.device.next_event_ns() == kSaturday + (7 + 86'400) * kSecond);
  // An alarm no time matches has no next event and never fires.
  rtc.out(CmosRtc::kHoursAlarm, 0x80 | 13);
  CHECK_FALSE(rtc.device.next_event_ns().has_value());
}

TEST_CASE("CMOS RTC setting AIE while AF is pending raises the interrupt at once") {
  Rtc rtc;
  rtc.out(CmosRtc::kSecondsAlarm, CmosRtc::kAlarmDontCare);
  rtc.out(CmosRtc::kMinutesAlarm, CmosRtc::kAlarmDontCare);
  rtc.out(CmosRtc::kHoursAlarm, CmosRtc::kAlarmDontCare);
  rtc.now += kSecond;
  rtc.device.poll();
  CHECK(rtc.levels.empty());
  rtc.out(CmosRtc::kRegisterB, CmosRtc::kAie | CmosRtc::k24Hour);
  CHECK(rtc.levels == std::vector<bool>{true});
  CHECK(rtc.alarms == 1);
}

TEST_CASE("CMOS RTC periodic flag follows register A's rate") {
  Rtc rtc;
  rtc.now = kSaturday;  // A whole second: a multiple of every period.
  rtc.out(CmosRtc::kRegisterB, CmosRtc::kPie | CmosRtc::k24Hour);
  // Rate 6 (the default): 1024 Hz, 976562 ns.
  // Rate 6 (the default): 1024 Hz, 32 ticks of 32768 Hz, 976562.5 ns.
  CHECK(rtc.device.next_event_ns() == kSaturday + 976'563);
  rtc.now = kSaturday + 976'562;
  rtc.device.poll();
  CHECK(rtc.levels.empty());
  rtc.now = kSaturday + 976'563;
  rtc.device.poll();
  CHECK(rtc.levels == std::vector<bool>{true});
  CHECK(rtc.in(CmosRtc::kRegisterC) == (CmosRtc::kIrqf | CmosRtc::kPf));
  rtc.out(CmosRtc::kRegisterA, 0x20);  // Rate 0: no periodic interrupt.
  CHECK_FALSE(rtc.device.next_event_ns().has_value());
}

TEST_CASE("CMOS RTC time writes move its clock and bad values are ignored") {
  Rtc rtc;
  rtc.out(CmosRtc::kYear, 0x99);
  rtc.out(CmosRtc::kMonth, 0x02);
  rtc.out(CmosRtc::kDayOfMonth, 0x29);  // 2099 is no leap year: runs on to March 1st.
  CHECK(rtc.in(CmosRtc::kYear) == 0x99);
  CHECK(rtc.in(CmosRtc::kMonth) == 0x03);
  CHECK(rtc.in(CmosRtc::kDayOfMonth) == 0x01);
  rtc.out(CmosRtc::kCentury, 0x20);
  rtc.out(CmosRtc::kYear, 0x00);
  rtc.out(CmosRtc::kMonth, 0x02);
  rtc.out(CmosRtc::kDayOfMonth, 0x29);  // 2000 is.
  rtc.out(CmosRtc::kHours, 0x23);
  rtc.out(CmosRtc::kMinutes, 0x59);
  rtc.out(CmosRtc::kSeconds, 0x59);
  CHECK(rtc.in(CmosRtc::kDayOfMonth) == 0x29);
  CHECK(rtc.in(CmosRtc::kDayOfWeek) == 3);  // 2000-02-29 was a Tuesday.
  rtc.now += kSecond;
  CHECK(rtc.in(CmosRtc::kDayOfMonth) == 0x01);
  CHECK(rtc.in(CmosRtc::kMonth) == 0x03);
  CHECK(rtc.in(CmosRtc::kSeconds) == 0x00);
  // Not BCD, out of range: ignored.
  rtc.out(CmosRtc::kSeconds, 0x5a);
  rtc.out(CmosRtc::kMinutes, 0x60);
  rtc.out(CmosRtc::kHours, 0x24);
  rtc.out(CmosRtc::kMonth, 0x13);
  CHECK(rtc.in(CmosRtc::kSeconds) == 0x00);
  CHECK(rtc.in(CmosRtc::kMinutes) == 0x00);
  CHECK(rtc.in(CmosRtc::kHours) == 0x00);
  CHECK(rtc.in(CmosRtc::kMonth) == 0x03);
}

TEST_CASE("CMOS RTC RAM reads back, C and D ignore writes, wide accesses split") {
  Rtc rtc;
  rtc.out(0x7f, 0xa5);
  rtc.out(0x0e, 0x5a);
  CHECK(rtc.in(0x7f) == 0xa5);
  CHECK(rtc.in(0x0e) == 0x5a);
  rtc.out(CmosRtc::kRegisterD, 0);
  CHECK(rtc.in(CmosRtc::kRegisterD) == 0x80);
  rtc.out(CmosRtc::kRegisterC, 0xff);
  CHECK(rtc.flags() == 0);
  // outw 0x70: index in the low byte, data in the high.
  const uint8_t word[2] = {0x20, 0x77};
  rtc.device.write(0, word);
  CHECK(rtc.in(0x20) == 0x77);
  uint8_t wide[2] = {0, 0};
  rtc.device.read(0, wide);
  CHECK(wide[0] == 0xff);
  CHECK(wide[1] == 0x77);
}

#include "devices/rtc/cmos_rtc.h"

#include <time.h>

#include <algorithm>
#include <string>

#include "base/util/format.h"

namespace kvmm {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kSecondsPerDay = 86'400;
// 32.768 kHz: the time base register A's rate-select bits divide.
constexpr uint64_t kTimeBaseHz = 32'768;
constexpr uint8_t kRateSelectMask = 0x0f;
constexpr uint8_t kFlagsMask = CmosRtc::kPf | CmosRtc::kAf | CmosRtc::kUf;
// Register B's enables sit at the same bits as C's flags.
static_assert(CmosRtc::kPie == CmosRtc::kPf && CmosRtc::kAie == CmosRtc::kAf &&
              CmosRtc::kUie == CmosRtc::kUf);
constexpr uint8_t kPmBit = 0x80;  // Hours in 12-hour form.
// Power-on values, as QEMU's: the divider running with 1024 Hz periodic
// rate, 24-hour BCD.
constexpr uint8_t kRegisterAReset = 0x26;
constexpr uint8_t kRegisterBReset = CmosRtc::k24Hour;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
// Hinnant's algorithms, "chrono-Compatible Low-Level Date Algorithms").
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t year;
  int64_t month;  // 1-12
  int64_t day;    // 1-31
};

Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (month <= 2), month, day};
}

}  // namespace

uint64_t CmosRtc::realtime_ns() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<uint64_t>(now.tv_sec) * kNsPerSecond + static_cast<uint64_t>(now.tv_nsec);
}

CmosRtc::CmosRtc(Callbacks callbacks, Clock now_ns)
    : callbacks_(std::move(callbacks)), now_ns_(std::move(now_ns)) {
  bytes_[kRegisterA] = kRegisterAReset;
  bytes_[kRegisterB] = kRegisterBReset;
  last_ns_ = now_ns_();
}

int64_t CmosRtc::rtc_seconds(uint64_t host_ns) const {
  return static_cast<int64_t>(host_ns / kNsPerSecond) + offset_seconds_;
}

namespace {

// A register value in the format register B selects, and back.
struct Format {
  bool binary;
  bool hours24;

  uint8_t encode(int64_t value) const {
    const auto v = static_cast<uint8_t>(value);
    return binary ? v : static_cast<uint8_t>((v / 10) << 4 | (v % 10));
  }
  uint8_t encode_hours(int64_t hours) const {
    if (hours24) return encode(hours);
    const int64_t twelve = hours % 12 == 0 ? 12 : hours % 12;
    return static_cast<uint8_t>(encode(twelve) | (hours >= 12 ? kPmBit : 0));
  }
  std::optional<int64_t> decode(uint8_t value) const {
    if (binary) return value;
    if ((value & 0xf) > 9 || (value >> 4) > 9) return std::nullopt;
    return (value >> 4) * 10 + (value & 0xf);
  }
  // 0-23, or nullopt for a value no hour has.
  std::optional<int64_t> decode_hours(uint8_t value) const {
    if (hours24) {
      const auto hours = decode(value);
      return hours && *hours < 24 ? hours : std::nullopt;
    }
    const auto twelve = decode(value & ~kPmBit);
    if (!twelve || *twelve < 1 || *twelve > 12) return std::nullopt;
    return *twelve % 12 + ((value & kPmBit) != 0 ? 12 : 0);
  }
};

Format format_of(uint8_t register_b) {
  return {(register_b & CmosRtc::kBinary) != 0, (register_b & CmosRtc::k24Hour) != 0};
}

}  // namespace

bool CmosRtc::alarm_matches(int64_t rtc_second) const {
  const Format format = format_of(bytes_[kRegisterB]);
  const int64_t time_of_day = floor_mod(rtc_second, kSecondsPerDay);
  auto matches = [&](uint8_t alarm, int64_t now, bool hours) {
    if ((alarm & kAlarmDontCare) == kAlarmDontCare) return true;
    const auto value = hours ? format.decode_hours(alarm) : format.decode(alarm);
    return value && *value == now;
  };
  return matches(bytes_[kSecondsAlarm], time_of_day % 60, false) &&
         matches(bytes_[kMinutesAlarm], time_of_day / 60 % 60, false) &&
         matches(bytes_[kHoursAlarm], time_of_day / 3600, true);
}

std::optional<unsigned> CmosRtc::period_shift() const {
  const uint8_t rate = bytes_[kRegisterA] & kRateSelectMask;
  if (rate == 0) return std::nullopt;
  // A period is 2^(rate - 1) ticks of the time base; rates 1 and 2 repeat 8
  // and 9 (256 and 128 Hz), as the datasheet's table says.
  return rate <= 2 ? rate + 6u : rate - 1u;
}

namespace {

// The time base's ticks since the epoch, and the first nanosecond of a
// tick: the periodic flag is locked to the second, as the divider chain is.
uint64_t time_base_ticks(uint64_t ns) {
  return ns / kNsPerSecond * kTimeBaseHz + ns % kNsPerSecond * kTimeBaseHz / kNsPerSecond;
}
uint64_t tick_start_ns(uint64_t ticks) {
  return ticks / kTimeBaseHz * kNsPerSecond +
         (ticks % kTimeBaseHz * kNsPerSecond + kTimeBaseHz - 1) / kTimeBaseHz;
}

}  // namespace

bool CmosRtc::advance(uint64_t now) {
  if (now < last_ns_) {
    // The host's wall clock stepped back: start counting again from here.
    last_ns_ = now;
    return update_interrupt();
  }
  if ((bytes_[kRegisterB] & kSet) == 0) {
    const int64_t from = rtc_seconds(last_ns_);
    const int64_t to = rtc_seconds(now);
    if (to > from) {
      bytes_[kRegisterC] |= kUf;
      // A day of boundaries holds every time of day an alarm can name.
      for (int64_t second = std::max(from + 1, to - kSecondsPerDay + 1); second <= to; ++second) {
        if (alarm_matches(second)) {
          bytes_[kRegisterC] |= kAf;
          break;
        }
      }
    }
  }
  if (const auto shift = period_shift();
      shift && time_base_ticks(now) >> *shift > time_base_ticks(last_ns_) >> *shift) {
    bytes_[kRegisterC] |= kPf;
  }
  last_ns_ = now;
  return update_interrupt();
}

bool CmosRtc::update_interrupt() {
  const uint8_t enabled = bytes_[kRegisterC] & bytes_[kRegisterB] & kFlagsMask;
  if (enabled == 0 || (bytes_[kRegisterC] & kIrqf) != 0) return false;
  bytes_[kRegisterC] |= kIrqf;
  if (!interrupt_raised_) {
    interrupt_raised_ = true;
    if (callbacks_.interrupt) callbacks_.interrupt(true);
  }
  return true;
}

uint8_t CmosRtc::read_register(uint8_t index, uint64_t now) {
  const Format format = format_of(bytes_[kRegisterB]);
  const int64_t seconds = rtc_seconds(now);
  const int64_t days = floor_div(seconds, kSecondsPerDay);
  const int64_t time_of_day = seconds - days * kSecondsPerDay;
  switch (index) {
    case kSeconds: return format.encode(time_of_day % 60);
    case kMinutes: return format.encode(time_of_day / 60 % 60);
    case kHours: return format.encode_hours(time_of_day / 3600);
    case kDayOfWeek: return format.encode(floor_mod(days + 4, 7) + 1);  // 1970-01-01: Thursday.
    case kDayOfMonth: return format.encode(civil_from_days(days).day);
    case kMonth: return format.encode(civil_from_days(days).month);
    case kYear: return format.encode(floor_mod(civil_from_days(days).year, 100));
    case kCentury: return format.encode(floor_mod(floor_div(civil_from_days(days).year, 100), 100));
    case kRegisterA: {
      const bool updating = (bytes_[kRegisterB] & kSet) == 0 &&
                            now % kNsPerSecond >= kNsPerSecond - kUipNs;
      return static_cast<uint8_t>((bytes_[kRegisterA] & ~kUip) | (updating ? kUip : 0));
    }
    case kRegisterC: {
      const uint8_t flags = bytes_[kRegisterC];
      bytes_[kRegisterC] = 0;
      if (interrupt_raised_) {
        interrupt_raised_ = false;
        if (callbacks_.interrupt) callbacks_.interrupt(false);
      }
      return flags;
    }
    case kRegisterD: return kVrt;
    default: return bytes_[index];
  }
}

void CmosRtc::set_time_field(uint8_t index, uint8_t value, uint64_t now) {
  const Format format = format_of(bytes_[kRegisterB]);
  const int64_t seconds = rtc_seconds(now);
  const int64_t days = floor_div(seconds, kSecondsPerDay);
  int64_t time_of_day = seconds - days * kSecondsPerDay;
  Civil date = civil_from_days(days);
  // Guest-controlled: out-of-range values are refused, not wrapped.
  const auto decoded = index == kHours ? format.decode_hours(value) : format.decode(value);
  auto in_range = [&](int64_t low, int64_t high) {
    return decoded && *decoded >= low && *decoded <= high;
  };
  bool valid = true;
  switch (index) {
    case kSeconds:
      valid = in_range(0, 59);
      if (valid) time_of_day = time_of_day - time_of_day % 60 + *decoded;
      break;
    case kMinutes:
      valid = in_range(0, 59);
      if (valid) time_of_day = time_of_day - (time_of_day / 60 % 60) * 60 + *decoded * 60;
      break;
    case kHours:
      valid = in_range(0, 23);
      if (valid) time_of_day = time_of_day % 3600 + *decoded * 3600;
      break;
    case kDayOfMonth:
      // A day past the month's end (written before the month, as a guest
      // setting the date field by field may) runs on into the next month.
      valid = in_range(1, 31);
      if (valid) date.day = *decoded;
      break;
    case kMonth:
      valid = in_range(1, 12);
      if (valid) date.month = *decoded;
      break;
    case kYear:
      valid = in_range(0, 99);
      if (valid) date.year = floor_div(date.year, 100) * 100 + *decoded;
      break;
    case kCentury:
      valid = in_range(0, 99);
      if (valid) date.year = *decoded * 100 + floor_mod(date.year, 100);
      break;
    default: return;
  }
  if (!valid) {
    log_.log("ignored " + hex(value) + " written to time register " + hex(index) +
             ": not a valid value in register B's format " + hex(bytes_[kRegisterB]));
    return;
  }
  const int64_t wanted =
      days_from_civil(date.year, date.month, date.day) * kSecondsPerDay + time_of_day;
  offset_seconds_ += wanted - seconds;
  // The new time is no update: no flags for the seconds it skipped.
  last_ns_ = now;
}

void CmosRtc::write_register(uint8_t index, uint8_t value, uint64_t now) {
  switch (index) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kDayOfMonth:
    case kMonth:
    case kYear:
    case kCentury: set_time_field(index, value, now); return;
    case kDayOfWeek: return;  // Follows the date.
    case kRegisterA: bytes_[kRegisterA] = value & ~kUip; return;
    case kRegisterB:
      bytes_[kRegisterB] = value;
      // An enable set while its flag is pending raises the interrupt now.
      update_interrupt();
      return;
    case kRegisterC:
    case kRegisterD: return;  // Read-only.
    default: bytes_[index] = value; return;
  }
}

void CmosRtc::read(uint64_t offset, std::span<uint8_t> data) {
  bool alarm = false;
  {
    std::lock_guard lock(mutex_);
    const uint64_t now = now_ns_();
    const bool before = (bytes_[kRegisterC] & bytes_[kRegisterB] & kAf) != 0;
    advance(now);
    // Before a read of C clears it.
    alarm = !before && (bytes_[kRegisterC] & bytes_[kRegisterB] & kAf) != 0;
    // A wider access reaches the next port with its next byte.
    for (size_t i = 0; i < data.size() && offset + i < kSize; ++i) {
      data[i] = offset + i == 0 ? 0xff : read_register(index_, now);
    }
  }
  if (alarm && callbacks_.on_alarm) callbacks_.on_alarm();
}

void CmosRtc::write(uint64_t offset, std::span<const uint8_t> data) {
  bool alarm = false;
  {
    std::lock_guard lock(mutex_);
    const uint64_t now = now_ns_();
    const bool before = (bytes_[kRegisterC] & bytes_[kRegisterB] & kAf) != 0;
    advance(now);
    for (size_t i = 0; i < data.size() && offset + i < kSize; ++i) {
      const uint8_t value = data[i];  // Guest-controlled.
      if (offset + i == 0) {
        index_ = value & 0x7f;  // Bit 7 masks NMIs on a PC: nothing to mask here.
      } else {
        write_register(index_, value, now);
      }
    }
    alarm = !before && (bytes_[kRegisterC] & bytes_[kRegisterB] & kAf) != 0;
  }
  if (alarm && callbacks_.on_alarm) callbacks_.on_alarm();
}

void CmosRtc::poll() {
  bool alarm = false;
  {
    std::lock_guard lock(mutex_);
    const bool before = (bytes_[kRegisterC] & bytes_[kRegisterB] & kAf) != 0;
    advance(now_ns_());
    alarm = !before && (bytes_[kRegisterC] & bytes_[kRegisterB] & kAf) != 0;
  }
  if (alarm && callbacks_.on_alarm) callbacks_.on_alarm();
}

std::optional<uint64_t> CmosRtc::next_event_ns() {
  std::lock_guard lock(mutex_);
  const uint64_t now = now_ns_();
  const uint8_t b = bytes_[kRegisterB];
  const uint8_t c = bytes_[kRegisterC];
  std::optional<uint64_t> next;
  auto consider = [&](uint64_t at) { next = next ? std::min(*next, at) : at; };
  // With IRQF set no new interrupt can come until C is read, but the
  // alarm's own event (on_alarm) can.
  const bool interrupt_pending = (c & kIrqf) != 0;
  if ((b & kSet) == 0) {
    const int64_t second = rtc_seconds(now);
    auto boundary_ns = [&](int64_t rtc_second) {
      const int64_t host_second = rtc_second - offset_seconds_;
      return host_second <= 0 ? uint64_t{0} : static_cast<uint64_t>(host_second) * kNsPerSecond;
    };
    if ((b & kUie) != 0 && !interrupt_pending) consider(boundary_ns(second + 1));
    if ((b & kAie) != 0 && (c & kAf) == 0) {
      for (int64_t ahead = 1; ahead <= kSecondsPerDay; ++ahead) {
        if (alarm_matches(second + ahead)) {
          consider(boundary_ns(second + ahead));
          break;
        }
      }
    }
  }
  if (const auto shift = period_shift(); shift && (b & kPie) != 0 && !interrupt_pending) {
    consider(tick_start_ns(((time_base_ticks(now) >> *shift) + 1) << *shift));
  }
  return next;
}

}  // namespace kvmm

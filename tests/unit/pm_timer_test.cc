#include "devices/power/pm_timer.h"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>

using kvmm::PmTimer;

namespace {
constexpr uint64_t kSecond = 1'000'000'000;
}  // namespace

TEST_CASE("PM timer counts 3579545 ticks per second of its clock") {
  uint64_t now = 0;
  const PmTimer timer([&now] { return now; });
  CHECK(timer.value() == 0);
  now = kSecond;
  CHECK(timer.value() == 3'579'545);
  now = kSecond / 2;
  CHECK(timer.value() == 1'789'772);  // Rounded down.
  now = 280;                          // One tick is about 279.4 ns.
  CHECK(timer.value() == 1);
}

TEST_CASE("PM timer wraps at 2^24") {
  uint64_t now = 0;
  const PmTimer timer([&now] { return now; });
  // The first nanosecond count at which 2^24 ticks have passed.
  uint64_t wrap = (uint64_t{1} << 24) * kSecond / PmTimer::kFrequencyHz;
  while (PmTimer::ticks(wrap) < (uint64_t{1} << 24)) ++wrap;
  now = wrap - 1;
  CHECK(timer.value() == PmTimer::kCounterMask);
  now = wrap;
  CHECK(timer.value() == 0);
}

TEST_CASE("PM timer stays exact on long uptimes, where ns * frequency overflows") {
  // A year of uptime: ns * 3579545 needs about 77 bits.
  const uint64_t year = 365ull * 24 * 3600 * kSecond + 123'456'789;
  const uint64_t seconds = year / kSecond;
  const uint64_t rest_ticks = 123'456'789ull * 3'579'545 / kSecond;
  CHECK(PmTimer::ticks(year) == seconds * PmTimer::kFrequencyHz + rest_ticks);
  CHECK(PmTimer::ticks(UINT64_MAX) > 0);  // No trap, no UB: wraps modulo 2^64.
}

TEST_CASE("PM timer reads 1, 2 or 4 bytes at any offset of its register and ignores writes") {
  // 0x123456 ticks, plus half a tick so rounding cannot pull it below.
  const uint64_t ns = 0x123456ull * kSecond / PmTimer::kFrequencyHz + 140;
  PmTimer timer([ns] { return ns; });
  REQUIRE(timer.value() == 0x123456);

  std::array<uint8_t, 4> dword{};
  timer.read(0, dword);
  CHECK(dword == std::array<uint8_t, 4>{0x56, 0x34, 0x12, 0x00});
  std::array<uint8_t, 2> word{};
  timer.read(1, word);
  CHECK(word == std::array<uint8_t, 2>{0x34, 0x12});
  std::array<uint8_t, 1> byte{};
  timer.read(2, byte);
  CHECK(byte[0] == 0x12);
  timer.read(3, byte);
  CHECK(byte[0] == 0x00);  // Bits 24-31: zero in a 24-bit timer.

  std::array<uint8_t, 4> past_end{0xaa, 0xaa, 0xaa, 0xaa};
  timer.read(2, past_end);  // Would run to byte 6: left alone.
  CHECK(past_end == std::array<uint8_t, 4>{0xaa, 0xaa, 0xaa, 0xaa});

  const std::array<uint8_t, 4> zeros{};
  timer.write(0, zeros);
  CHECK(timer.value() == 0x123456);
}

TEST_CASE("PM timer's default clock is monotonic") {
  const PmTimer timer;
  const uint64_t first = PmTimer::monotonic_ns();
  const uint64_t second = PmTimer::monotonic_ns();
  CHECK(second >= first);
  CHECK(timer.value() <= PmTimer::kCounterMask);
}

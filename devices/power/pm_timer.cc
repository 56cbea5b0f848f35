#include "devices/power/pm_timer.h"

#include <time.h>

namespace kvmm {

uint64_t PmTimer::monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

uint64_t PmTimer::ticks(uint64_t ns) {
  // ns * kFrequencyHz overflows 64 bits after about 86 minutes. Split ns
  // into whole seconds and the rest: the rest times the frequency stays
  // below 2^52, and whole seconds times the frequency is exact ticks.
  constexpr uint64_t kNsPerSecond = 1'000'000'000;
  const uint64_t seconds = ns / kNsPerSecond;
  const uint64_t rest = ns % kNsPerSecond;
  return seconds * kFrequencyHz + rest * kFrequencyHz / kNsPerSecond;
}

void PmTimer::read(uint64_t offset, std::span<uint8_t> data) {
  // The bus keeps accesses inside the 4 bytes; checked again because a
  // device never trusts its caller with its own bounds.
  if (offset > kSize || data.size() > kSize - offset) return;
  const uint32_t counter = value();
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<uint8_t>(counter >> (8 * (offset + i)));
  }
}

}  // namespace kvmm

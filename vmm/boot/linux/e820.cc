#include "vmm/boot/linux/e820.h"

#include <algorithm>

#include "vmm/arch/x86/layout.h"

namespace kvmm {

std::vector<E820Range> build_e820_map(uint64_t ram_bytes) {
  std::vector<E820Range> map;
  const uint64_t low_end = low_ram_end(ram_bytes);
  // kvmm never makes less than kMinMemory (1 MiB), but a smaller size still
  // gives a map that lists only RAM that exists.
  const uint64_t conventional_end = std::min(low_end, kEbdaStart);
  if (conventional_end > 0) map.push_back({0, conventional_end, E820Type::kRam});
  map.push_back({kEbdaStart, kHighMemoryStart - kEbdaStart, E820Type::kReserved});
  if (low_end > kHighMemoryStart) {
    map.push_back({kHighMemoryStart, low_end - kHighMemoryStart, E820Type::kRam});
  }
  if (ram_bytes > low_end)
    map.push_back({kHighRamStart.value, ram_bytes - low_end, E820Type::kRam});
  return map;
}

}  // namespace kvmm

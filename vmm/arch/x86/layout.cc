#include "vmm/arch/x86/layout.h"

#include <algorithm>

namespace kvmm {

uint64_t low_ram_end(uint64_t ram_bytes) { return std::min(ram_bytes, kMmioHoleStart.value); }

GuestMemory make_guest_memory(uint64_t ram_bytes) {
  GuestMemory memory;
  const uint64_t low = low_ram_end(ram_bytes);
  memory.add_region(GuestAddress{0}, low);
  if (ram_bytes > low) memory.add_region(kHighRamStart, ram_bytes - low);
  return memory;
}

}  // namespace kvmm

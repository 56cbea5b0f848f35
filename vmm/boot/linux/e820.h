#pragma once
// The guest's physical memory map as firmware would report it (e820), built
// from the RAM size and vmm/arch/x86/layout.h. Both Linux boot paths
// hand it to the kernel: the bzImage zero page and the PVH start_info.
#include <cstdint>
#include <vector>

#include "vmm/arch/x86/layout.h"

namespace kvmm {

// e820 address range types (ACPI 6.5 §15.3); only the ones kvmm reports.
enum class E820Type : uint32_t { kRam = 1, kReserved = 2 };

struct E820Range {
  uint64_t address = 0;
  uint64_t size = 0;
  E820Type type = E820Type::kRam;
  bool operator==(const E820Range&) const = default;
};

// The PC's legacy hole below 1 MiB, [kEbdaStart, kHighMemoryStart): EBDA,
// VGA memory, option ROMs and the BIOS area (kvmm's ACPI and MP tables live
// in it). Linux must not use it as RAM.

// RAM [0, 0x9fc00), reserved [0x9fc00, 1 MiB), RAM [1 MiB, low RAM end),
// then RAM above 4 GiB when there is more than 3 GiB. The MMIO hole is
// simply absent, as on real machines whose devices are found through ACPI
// and PCI rather than through e820. Ranges are sorted and do not overlap.
std::vector<E820Range> build_e820_map(uint64_t ram_bytes);

}  // namespace kvmm

#pragma once
// The guest physical memory map (x86-64):
//   [0, min(ram, 3 GiB))           RAM, slot 0
//   [3 GiB, 4 GiB)                 the 32-bit MMIO hole: devices, LAPIC/IOAPIC,
//                                  and KVM's TSS/identity-map pages at its top
//   [4 GiB, 4 GiB + ram - 3 GiB)   the rest of RAM, slot 1
#include <cstdint>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"

namespace kvmm {

inline constexpr uint64_t kMiB = 1ULL << 20;
inline constexpr uint64_t kGiB = 1ULL << 30;
inline constexpr GuestAddress kMmioHoleStart{3 * kGiB};
inline constexpr GuestAddress kHighRamStart{4 * kGiB};
// Where QEMU puts them too: the top of the hole, below the BIOS area.
inline constexpr GuestAddress kIdentityMapAddress{0xfeffc000};
inline constexpr GuestAddress kTssAddress{0xfeffd000};

// kvmm refuses less than this: the flat-guest tables and load address need it.
inline constexpr uint64_t kMinMemory = 1 * kMiB;

// Builds the regions above for `ram_bytes` of RAM (a multiple of 4 KiB).
GuestMemory make_guest_memory(uint64_t ram_bytes);

// End of the RAM region starting at 0 (where flat guests get their stack).
uint64_t low_ram_end(uint64_t ram_bytes);

}  // namespace kvmm

#pragma once
// The guest physical memory map (x86-64): every fixed guest address kvmm
// uses, in address order, each with why it is there.
//
//   [0, min(ram, 3 GiB))           RAM, slot 0
//   [3 GiB, 4 GiB)                 the 32-bit MMIO hole: devices, LAPIC/IOAPIC,
//                                  and KVM's TSS/identity-map pages at its top
//   [4 GiB, 4 GiB + ram - 3 GiB)   the rest of RAM, slot 1
//
// I/O port numbers stay with their devices; only memory addresses are here.
#include <cstdint>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"

namespace kvmm {

inline constexpr uint64_t kMiB = 1ULL << 20;
inline constexpr uint64_t kGiB = 1ULL << 30;

// ---- Low memory: boot structures (all below the flat image or the EBDA) ----

// GDT: null, code (0x08), data (0x10); flat protected/long mode and Linux.
inline constexpr GuestAddress kGdtAddress{0x500};
// Identity page tables of the first 4 GiB with 2 MiB pages, so RAM and the
// 32-bit MMIO hole are both reachable (flat long mode, bzImage 64-bit entry):
// PML4, PDPT, then 4 page directories 0x3000-0x6fff.
inline constexpr GuestAddress kPml4Address{0x1000};
inline constexpr GuestAddress kPdptAddress{0x2000};
inline constexpr GuestAddress kPageDirectoryAddress{0x3000};
// The zero page, struct boot_params (bzImage): right after the page tables.
inline constexpr GuestAddress kZeroPageAddress{0x7000};
// The exit benchmark's parameter block (guest/bench_exits.asm): a flat guest
// has no zero page, so it takes that page.
inline constexpr uint64_t kExitBenchParamsAddress = 0x7000;
// Where flat images are loaded and entered, in every mode. In real mode this
// is CS:IP 0000:8000, so a real-mode image addresses at most 32 KiB with CS=0.
inline constexpr GuestAddress kFlatLoadAddress{0x8000};
// PVH: hvm_start_info, then in the same page its memory map and module list
// (a Linux guest has no flat image there).
inline constexpr GuestAddress kStartInfoAddress{0x8000};
inline constexpr GuestAddress kPvhMemmapAddress{0x8040};
inline constexpr GuestAddress kPvhModlistAddress{0x8800};
// The kernel command line, NUL-terminated; boot.rst wants it below 0xa0000.
inline constexpr GuestAddress kCmdlineAddress{0x20000};

// ---- The PC's legacy hole below 1 MiB, reserved in e820 ----

// The top 1 KiB of conventional memory is the EBDA, then VGA memory, option
// ROMs and the BIOS area. Linux must not use it as RAM.
inline constexpr uint64_t kEbdaStart = 0x9fc00;
// ACPI tables: the RSDP must sit on a 16-byte boundary in [0xe0000, 0x100000)
// for a guest that searches for it (ACPI 6.4 §5.2.5.1); the top 64 KiB of
// that range belongs to the MP table, so the ACPI tables stop at 0xf0000.
inline constexpr GuestAddress kAcpiTablesBase{0xe0000};
inline constexpr GuestAddress kAcpiTablesEnd{0xf0000};
// The MP table, where a guest searches the BIOS area for its floating
// pointer (MP spec 1.4 §4: a 16-byte boundary in [0xf0000, 0x100000)); the
// last 4 KiB of that range hold the BIOS's real-mode interrupt handlers.
inline constexpr GuestAddress kMpTableBase{0xf0000};
inline constexpr GuestAddress kMpTableEnd{0xff000};
// A multiboot guest's real-mode interrupt handlers (multiboot/bios_handoff.h).
inline constexpr GuestAddress kBiosHandlersAddress{0xff000};
// The x86 reset vector (F000:FFF0), where Linux may jump to reboot.
inline constexpr GuestAddress kResetVectorAddress{0xffff0};
// The end of the legacy hole: kernels load at or above it.
inline constexpr uint64_t kHighMemoryStart = 0x100000;

// ---- Above 1 MiB: benchmark guests' data (flat guests, no kernel there) ----

// The scheduling benchmark's parameter block, per-vCPU slots and round-trip
// samples (guest/sched_bench.asm).
inline constexpr GuestAddress kSchedBenchParamsAddress{0x100000};
inline constexpr GuestAddress kSchedBenchSlotsAddress{0x101000};
inline constexpr GuestAddress kSchedBenchSamplesAddress{0x200000};
// The exit benchmark's samples, above the flat-guest tables, image and stack.
inline constexpr uint64_t kExitBenchSamplesAddress = 16ULL << 20;

// ---- The 32-bit MMIO hole ----

inline constexpr GuestAddress kMmioHoleStart{3 * kGiB};
// kvmm's test device: the same 16 bytes as its ports, as MMIO.
inline constexpr GuestAddress kTestDeviceMmioAddress{0xd0000000};
// The exit benchmark's MMIO ioeventfd (guest/bench_exits.asm): no device.
inline constexpr uint64_t kIoeventfdMmioAddress = 0xd0001000;
// The ACPI Generic Event Device's event register (Linux guests, 4 bytes;
// devices/power/generic_event_device.h): its own page after the benchmark's.
inline constexpr GuestAddress kGedMmioAddress{0xd0002000};
// virtio-mmio transport i at kVirtioMmioBase + i * kVirtioMmioStride
// (vmm/machine/mmio_device_manager.h hands them out).
inline constexpr GuestAddress kVirtioMmioBase{0xd1000000};
inline constexpr uint64_t kVirtioMmioStride = 0x1000;
// The architectural defaults, as the MADT and the MP table describe them.
inline constexpr uint32_t kIoApicAddress = 0xfec00000;
inline constexpr uint32_t kLocalApicAddress = 0xfee00000;
// KVM's identity-map page and its three-page TSS (KVM_SET_IDENTITY_MAP_ADDR,
// KVM_SET_TSS_ADDR). Where QEMU puts them too: the top of the hole, below
// the BIOS area.
inline constexpr GuestAddress kIdentityMapAddress{0xfeffc000};
inline constexpr GuestAddress kTssAddress{0xfeffd000};

// ---- Above 4 GiB ----

inline constexpr GuestAddress kHighRamStart{4 * kGiB};

// kvmm refuses less than this: the flat-guest tables and load address need it.
inline constexpr uint64_t kMinMemory = 1 * kMiB;

// Builds the regions above for `ram_bytes` of RAM (a multiple of 4 KiB).
GuestMemory make_guest_memory(uint64_t ram_bytes);

// End of the RAM region starting at 0 (where flat guests get their stack).
uint64_t low_ram_end(uint64_t ram_bytes);

}  // namespace kvmm

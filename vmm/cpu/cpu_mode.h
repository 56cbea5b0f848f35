#pragma once
// The CPU state a flat guest starts in, for each of the three x86 modes, and
// the tables (GDT, identity page tables) that state needs in guest memory.
//
// Layout in low guest memory (all below the flat image at kFlatLoadAddress):
//   0x0500  GDT: null, code (0x08), data (0x10)
//   0x1000  PML4          \  long mode only: identity map of the first 4 GiB
//   0x2000  PDPT           > with 2 MiB pages, so RAM and the 32-bit MMIO
//   0x3000  4 page dirs   /  hole are both reachable
#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"

namespace kvmm {

enum class CpuMode { kReal, kProtected, kLong };

std::optional<CpuMode> parse_cpu_mode(std::string_view name);
std::string_view cpu_mode_name(CpuMode mode);

inline constexpr GuestAddress kGdtAddress{0x500};
inline constexpr GuestAddress kPml4Address{0x1000};
inline constexpr GuestAddress kPdptAddress{0x2000};
inline constexpr GuestAddress kPageDirectoryAddress{0x3000};
// Where flat images are loaded and entered, in every mode. In real mode this
// is CS:IP 0000:8000, so a real-mode image addresses at most 32 KiB with CS=0.
inline constexpr GuestAddress kFlatLoadAddress{0x8000};
inline constexpr uint64_t kFlatTablesEnd = kFlatLoadAddress.value;

// Selectors in the GDT written by write_mode_tables().
inline constexpr uint16_t kCodeSelector = 0x08;
inline constexpr uint16_t kDataSelector = 0x10;

// Writes the GDT (protected, long) and page tables (long) for `mode`.
// Throws Error if low memory is missing.
void write_mode_tables(const GuestMemory& memory, CpuMode mode);

// The long-mode identity map of the first 4 GiB alone (PML4, PDPT, PDs).
void write_identity_page_tables(const GuestMemory& memory);

// A GDT at kGdtAddress of `count` descriptors; returns its limit.
uint16_t write_gdt(const GuestMemory& memory, std::span<const uint64_t> descriptors);

// Flat 4 GiB descriptors (SDM §3.4.5): base 0, limit 0xfffff, G=1, P=1, DPL 0.
inline constexpr uint64_t kGdtCode32 = 0x00cf9b000000ffffULL;  // D=1, execute/read
inline constexpr uint64_t kGdtCode64 = 0x00af9b000000ffffULL;  // L=1, D=0
inline constexpr uint64_t kGdtData = 0x00cf93000000ffffULL;    // read/write

// A flat segment register matching those descriptors.
kvm_segment flat_segment(uint16_t selector, CpuMode mode, bool is_code);

// Control registers and EFER for paging-on long mode with the identity map.
void set_long_mode_control_registers(kvm_sregs& sregs);

// Sets segment, control and general registers for entry at `entry` with the
// stack pointer at `stack_top`. `sregs` should come from KVM_GET_SREGS of a
// fresh vCPU (it keeps fields this function does not own, like the APIC base).
void set_entry_state(CpuMode mode, GuestAddress entry, GuestAddress stack_top, kvm_sregs& sregs,
                     kvm_regs& regs);

}  // namespace kvmm

#pragma once
// The CPU state a flat guest starts in, for each of the three x86 modes, and
// the tables (GDT, identity page tables) that state needs in guest memory.
//
// The tables lie in low guest memory, below the flat image (addresses in
// vmm/arch/x86/layout.h): the GDT at kGdtAddress, and for long mode only the
// identity map of the first 4 GiB at kPml4Address, kPdptAddress and
// kPageDirectoryAddress.
#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"
#include "vmm/arch/x86/layout.h"

namespace kvmm {

enum class CpuMode { kReal, kProtected, kLong };

std::optional<CpuMode> parse_cpu_mode(std::string_view name);
std::string_view cpu_mode_name(CpuMode mode);

// The tables end where the flat image starts.
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

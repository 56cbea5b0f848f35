#pragma once
// Booting a Linux kernel: what the user asks for, what the loader did, and
// the low-memory addresses both boot protocols share.
//
// Guest physical memory while Linux boots:
//   0x00500            GDT (vmm/cpu/cpu_mode.h)
//   0x01000-0x06fff    identity page tables (long mode: bzImage)
//   0x07000-0x07fff    zero page, struct boot_params (bzImage)
//   0x08000-0x08fff    hvm_start_info, its memory map, module list (PVH)
//   0x20000-           kernel command line, NUL-terminated
//   0x9fc00-0xfffff    reserved: EBDA, VGA, ROMs, BIOS area, ACPI tables
//   0x100000-          kernel (bzImage at pref_address, PVH at its p_paddr)
//   below the top      initrd, at the highest page the kernel accepts
//   of low RAM
// The loader only writes memory; the vCPU setup (GDT, page tables,
// registers) is done by whoever starts the vCPU, from LinuxBootInfo.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"

namespace kvmm {

inline constexpr GuestAddress kZeroPageAddress{0x7000};
inline constexpr GuestAddress kStartInfoAddress{0x8000};
inline constexpr GuestAddress kCmdlineAddress{0x20000};

struct LinuxBootRequest {
  std::filesystem::path kernel;
  std::optional<std::filesystem::path> initrd;
  std::string cmdline;
  uint64_t ram_bytes = 0;  // As given to make_guest_memory().
  std::optional<GuestAddress> acpi_rsdp;
};

struct LinuxBootInfo {
  enum class Protocol {
    // 64-bit boot protocol: start in long mode (identity-mapped page tables
    // covering the kernel, zero page and command line), RIP = entry,
    // RSI = boot_data (the zero page), interrupts off.
    kBzImage64,
    // PVH: start in 32-bit protected mode with paging off, flat 4 GiB
    // CS/DS/ES/SS, EIP = entry, EBX = boot_data (hvm_start_info),
    // interrupts off.
    kPvh,
  };
  Protocol protocol = Protocol::kBzImage64;
  GuestAddress entry;
  GuestAddress boot_data;  // Zero page or hvm_start_info.
  // [kernel_load, kernel_end): the memory the kernel owns when it starts
  // (for a bzImage, the init_size it needs to decompress itself).
  uint64_t kernel_load = 0;
  uint64_t kernel_end = 0;
  uint64_t initrd_address = 0;
  uint64_t initrd_size = 0;  // 0: no initrd.
};

// Loads the kernel (a bzImage, or an ELF vmlinux with a PVH entry note),
// its command line and initrd into `memory` and writes the boot data.
// Throws Error with one line naming the file or value and the fix.
LinuxBootInfo load_linux(const GuestMemory& memory, const LinuxBootRequest& request);

}  // namespace kvmm

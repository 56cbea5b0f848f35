#pragma once
// Booting a Linux kernel: what the user asks for, what the loader did, and
// the low-memory addresses both boot protocols share.
//
// Where everything goes is in vmm/arch/x86/layout.h: the zero page
// (bzImage) or hvm_start_info (PVH), the command line, the kernel at or above
// kHighMemoryStart (bzImage at pref_address, PVH at its p_paddr), the initrd
// at the highest page below the top of low RAM the kernel accepts.
// The loader only writes memory; the vCPU setup (GDT, page tables,
// registers) is done by whoever starts the vCPU, from LinuxBootInfo.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"
#include "vmm/boot/linux/bzimage_unpack.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/linux/kernel_cmdline.h"

namespace kvmm {

struct LinuxBootRequest {
  std::filesystem::path kernel;
  std::optional<std::filesystem::path> initrd;
  KernelCmdline cmdline{""};
  uint64_t ram_bytes = 0;  // As given to make_guest_memory().
  std::optional<GuestAddress> acpi_rsdp;
  // The bzImage `kernel` unpacked on the host (unpack_bzimage()): booted
  // through PVH instead of the bzImage's own entry.
  std::optional<UnpackedKernel> unpacked;
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
    // Multiboot v1: as PVH, with EAX = the boot loader magic and EBX =
    // boot_data (the multiboot information structure).
    kMultiboot,
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

// Loads the kernel (a bzImage, an ELF vmlinux with a PVH entry note, or
// request.unpacked),
// its command line and initrd into `memory` and writes the boot data.
// Throws Error with one line naming the file or value and the fix.
LinuxBootInfo load_linux(const GuestMemory& memory, const LinuxBootRequest& request);

}  // namespace kvmm

#pragma once
// What both Linux boot protocols take the same way: a NUL-terminated command
// line in low memory, an initrd placed high, and a kernel that must fit in
// low RAM.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"
#include "vmm/boot/linux/kernel_cmdline.h"

namespace kvmm {

// Writes `cmdline` and its NUL at kCmdlineAddress. `max_length` is the most
// bytes the kernel accepts, NUL excluded (the bzImage's cmdline_size).
// Throws Error when the command line is longer.
void write_cmdline(const GuestMemory& memory, const KernelCmdline& cmdline, uint64_t max_length);

// Throws Error naming the kernel (`name`) when the memory it needs to start,
// up to `kernel_end`, lies beyond the RAM below the MMIO hole.
void require_kernel_fits(const std::string& name, uint64_t kernel_end, uint64_t ram_bytes);

struct InitrdPlacement {
  uint64_t address = 0;
  uint64_t size = 0;  // 0: no initrd.
};

// What the boot data (zero page or hvm_start_info) tells the kernel besides
// what its image says: the RAM for the e820 map, where the loader put the
// initrd, and the ACPI tables. The command line is always at kCmdlineAddress.
struct BootDataPlacement {
  uint64_t ram_bytes = 0;  // As given to make_guest_memory().
  InitrdPlacement initrd;
  std::optional<GuestAddress> acpi_rsdp;
};

// Loads the initrd at the highest 4 KiB-aligned address whose end is at or
// below `end_limit` and whose start is at or above `floor` (the end of the
// kernel's memory). High, because the kernel's early allocations grow up
// from its own end. Throws Error naming the file and the fix.
InitrdPlacement load_initrd(const GuestMemory& memory, const std::filesystem::path& path,
                            uint64_t floor, uint64_t end_limit);

}  // namespace kvmm

#pragma once
// The PVH loader: boots an uncompressed ELF64 vmlinux at the 32-bit entry
// point its XEN_ELFNOTE_PHYS32_ENTRY note names (Linux with CONFIG_PVH),
// handing it an hvm_start_info instead of a zero page. No decompressor and
// no 64-bit page tables are involved.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "base/memory/guest_memory.h"
#include "vmm/boot/elf_load_segment.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/linux/cmdline_initrd.h"
#include "vmm/boot/linux/linux_boot.h"

namespace kvmm {

// x86 Linux's COMMAND_LINE_SIZE is 2048 with the NUL; the PVH ABI has no
// field for it, and a longer line would be cut silently.
inline constexpr uint64_t kPvhMaxCmdline = 2047;
// PT_NOTE segments larger than this are refused rather than read whole.
inline constexpr uint64_t kMaxElfNoteBytes = 1 << 20;

// An ELF vmlinux whose headers kvmm has checked.
struct PvhKernel {
  std::vector<ElfLoadSegment> segments;  // PT_LOAD with p_memsz > 0.
  uint32_t entry = 0;                    // From the Xen PHYS32_ENTRY note.
  uint64_t load_start = 0;               // Lowest p_paddr.
  uint64_t load_end = 0;                 // Highest p_paddr + p_memsz.
};

// Checks the ELF header (magic, 64-bit, little-endian, x86-64, executable),
// the program headers and every PT_LOAD against the file with overflow-safe
// arithmetic, keeps segments at or above 1 MiB (clear of kvmm's boot data)
// and finds the PVH entry note, which must point into a loaded segment.
// Throws Error naming the file and what is wrong.
PvhKernel parse_pvh_elf(const ImageFile& file, const std::filesystem::path& path);

// Writes the hvm_start_info at kStartInfoAddress with, in the same page, its
// memory map and the module list (the initrd, when `placement` has one).
// Throws Error when guest memory has no room for them.
void write_start_info(const GuestMemory& memory, const BootDataPlacement& placement);

// Loads request.kernel as a PVH vmlinux: parse_pvh_elf(), the segments at
// their p_paddr, the command line, the initrd, then write_start_info().
LinuxBootInfo load_pvh(const GuestMemory& memory, const LinuxBootRequest& request);

// What a PVH boot may use besides the ELF. A vmlinux unpacked from a bzImage
// takes the bzImage's header values (bzimage_unpack.h), so that the command
// line, the initrd and what does not fit are as through the bzImage.
struct PvhBootLimits {
  uint64_t max_cmdline = kPvhMaxCmdline;
  uint64_t initrd_end_limit = UINT64_MAX;  // Lowered to the end of low RAM.
  uint64_t kernel_end = 0;                 // Raised to the ELF's load_end.
};

// load_pvh() for the ELF in `file`, named `path` in messages.
LinuxBootInfo load_pvh_file(const GuestMemory& memory, const LinuxBootRequest& request,
                            const ImageFile& file, const std::filesystem::path& path,
                            const PvhBootLimits& limits);

}  // namespace kvmm

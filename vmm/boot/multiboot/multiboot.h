#pragma once
// The Multiboot v1 loader (Multiboot Specification 0.6.96): boots an ELF32
// kernel with a Multiboot header, such as kvm-unit-tests' x86 *.flat files,
// the way QEMU's -kernel does.
//
// Where everything goes: each PT_LOAD segment at its p_paddr (at or above
// kMultibootLowestLoad, never in the legacy hole [kEbdaStart, 1 MiB)); then,
// from the first page after the highest segment end, the boot information
// (Info, memory map, module list, module name, command line); then the
// module on the next page. All of it lies in the RAM below the MMIO hole.
// The loader only writes memory; whoever starts the vCPU enters `entry` in
// 32-bit protected mode, paging off, flat 4 GiB CS/DS/ES/SS, with
// EAX = kMultibootBootloaderMagic and EBX = `info` (§3.2).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"
#include "vmm/boot/elf_load_segment.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/multiboot/multiboot_abi.h"

namespace kvmm {

inline constexpr uint32_t kMultibootBootloaderMagic = multiboot_abi::kBootloaderMagic;
// The first page holds the real-mode IVT, the BIOS data area and kvmm's GDT
// (kGdtAddress); segments start at or above its end.
inline constexpr uint64_t kMultibootLowestLoad = 0x1000;

struct MultibootHeaderLocation {
  uint64_t offset = 0;  // In the file.
  uint32_t flags = 0;
};

// The first 4-byte aligned Multiboot header in the file's first 8192 bytes
// whose magic, flags and checksum sum to 0 (§3.1.1), or nullopt.
std::optional<MultibootHeaderLocation> find_multiboot_header(const ImageFile& file);

// Whether the file has a Multiboot v1 header.
bool has_multiboot_header(const ImageFile& file);

struct MultibootRequest {
  std::filesystem::path kernel;
  std::optional<std::filesystem::path> module;
  // The arguments after the kernel's path: the Info's command line is
  // "<kernel path> <cmdline>", as GRUB and QEMU write it, so a kernel that
  // splits it into argv (kvm-unit-tests) finds its name in argv[0].
  std::string cmdline;
  uint64_t ram_bytes = 0;  // As given to make_guest_memory().
};

struct MultibootBootInfo {
  GuestAddress entry;
  GuestAddress info;  // The Multiboot Info, for EBX.
  // [load_start, load_end): the memory the kernel's segments own.
  uint64_t load_start = 0;
  uint64_t load_end = 0;
  uint64_t module_address = 0;
  uint64_t module_size = 0;  // 0: no module, or an empty one.
};

// An ELF32 Multiboot kernel whose headers kvmm has checked.
struct MultibootKernel {
  std::vector<ElfLoadSegment> segments;  // PT_LOAD with p_memsz > 0, by address.
  uint32_t entry = 0;                    // e_entry, inside a segment.
  uint64_t load_start = 0;               // Lowest p_paddr.
  uint64_t load_end = 0;                 // Highest p_paddr + p_memsz.
};

// Checks the Multiboot header's flags, the ELF32 header and program headers
// against the file with overflow-safe arithmetic, refuses segments that
// overlap each other or kvmm's low-memory data, and requires the entry in a
// segment. Throws Error naming the file and what is wrong.
MultibootKernel parse_multiboot_kernel(const ImageFile& file, const std::filesystem::path& path);

// Loads the kernel's segments, the module, the command line, and writes the
// Multiboot Info with its memory map. Throws Error with one line naming the
// file or value and the fix.
MultibootBootInfo load_multiboot(const GuestMemory& memory, const MultibootRequest& request);

}  // namespace kvmm

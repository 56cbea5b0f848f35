#pragma once
// The PVH boot ABI's start-of-day structures (Xen public header
// arch-x86/hvm/start_info.h, version 1): the kernel finds them through EBX
// at its XEN_ELFNOTE_PHYS32_ENTRY entry point. All fields are little-endian
// and naturally aligned, so no packing is needed; the asserts pin the layout.
#include <cstddef>
#include <cstdint>

namespace kvmm::linux_abi {

inline constexpr uint32_t kHvmStartMagic = 0x336ec578;  // "xEn3" with 0x80 set in "E".
// Version 1 added memmap_paddr/memmap_entries; Linux reads the memory map
// from there instead of asking a Xen hypervisor for it.
inline constexpr uint32_t kHvmStartInfoVersion = 1;

// ELF note that marks a PVH-capable kernel: name "Xen", type 18, descriptor
// the physical address of the 32-bit entry point (xen/include/public/elfnote.h).
inline constexpr char kXenNoteName[] = "Xen";
inline constexpr uint32_t kXenElfnotePhys32Entry = 18;

struct HvmStartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};
static_assert(sizeof(HvmStartInfo) == 56);
static_assert(offsetof(HvmStartInfo, modlist_paddr) == 16);
static_assert(offsetof(HvmStartInfo, cmdline_paddr) == 24);
static_assert(offsetof(HvmStartInfo, rsdp_paddr) == 32);
static_assert(offsetof(HvmStartInfo, memmap_paddr) == 40);
static_assert(offsetof(HvmStartInfo, memmap_entries) == 48);

struct HvmModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};
static_assert(sizeof(HvmModlistEntry) == 32);

// Its type field uses the e820 type numbers.
struct HvmMemmapTableEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};
static_assert(sizeof(HvmMemmapTableEntry) == 24);
static_assert(offsetof(HvmMemmapTableEntry, type) == 16);

}  // namespace kvmm::linux_abi

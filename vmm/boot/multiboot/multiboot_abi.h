#pragma once
// The Multiboot v1 structures kvmm reads and writes (Multiboot Specification
// 0.6.96, §3.1 "OS image format" and §3.3 "Boot information format"). All
// fields are little-endian and every address is below 4 GiB.
#include <cstdint>

namespace kvmm::multiboot_abi {

// §3.1.1: the header lies 4-byte aligned within the image's first 8192 bytes.
inline constexpr uint32_t kHeaderMagic = 0x1badb002;
inline constexpr uint64_t kHeaderSearchBytes = 8192;
inline constexpr uint64_t kHeaderAlignment = 4;

// §3.1.2: header flags. Bits 0-15 are requirements a loader must refuse
// when it does not meet them; bits 16-31 are optional features.
inline constexpr uint32_t kHeaderPageAlignModules = 1U << 0;
inline constexpr uint32_t kHeaderMemoryInfo = 1U << 1;
inline constexpr uint32_t kHeaderVideoMode = 1U << 2;
inline constexpr uint32_t kHeaderAoutKludge = 1U << 16;
inline constexpr uint32_t kHeaderRequiredMask = 0xffff;

// The first three header fields; the address and video fields that follow
// exist only with flags 16 and 2, which kvmm refuses.
struct Header {
  uint32_t magic;
  uint32_t flags;
  uint32_t checksum;  // magic + flags + checksum == 0 (mod 2^32).
};
static_assert(sizeof(Header) == 12);

// §3.2: EAX holds this on entry, EBX the address of the Info.
inline constexpr uint32_t kBootloaderMagic = 0x2badb002;

// §3.3: which Info fields are valid.
inline constexpr uint32_t kInfoMemory = 1U << 0;   // mem_lower, mem_upper
inline constexpr uint32_t kInfoCmdline = 1U << 2;  // cmdline
inline constexpr uint32_t kInfoMods = 1U << 3;     // mods_count, mods_addr
inline constexpr uint32_t kInfoMmap = 1U << 6;     // mmap_length, mmap_addr

struct Info {
  uint32_t flags;
  uint32_t mem_lower;  // KiB of RAM from 0.
  uint32_t mem_upper;  // KiB of contiguous RAM from 1 MiB.
  uint32_t boot_device;
  uint32_t cmdline;  // Address of a NUL-terminated string.
  uint32_t mods_count;
  uint32_t mods_addr;
  uint32_t syms[4];
  uint32_t mmap_length;  // In bytes.
  uint32_t mmap_addr;
  uint32_t drives_length;
  uint32_t drives_addr;
  uint32_t config_table;
  uint32_t boot_loader_name;
  uint32_t apm_table;
  uint32_t vbe_control_info;
  uint32_t vbe_mode_info;
  uint16_t vbe_mode;
  uint16_t vbe_interface_seg;
  uint16_t vbe_interface_off;
  uint16_t vbe_interface_len;
};
static_assert(sizeof(Info) == 88);

struct Module {
  uint32_t mod_start;
  uint32_t mod_end;  // Exclusive.
  uint32_t string;   // Address of a NUL-terminated name.
  uint32_t reserved;
};
static_assert(sizeof(Module) == 16);

// `size` counts the bytes after itself, so a reader steps by size + 4.
struct __attribute__((packed)) MmapEntry {
  uint32_t size;
  uint64_t base_addr;
  uint64_t length;
  uint32_t type;  // 1 RAM, 2 reserved (the e820 types).
};
static_assert(sizeof(MmapEntry) == 24);
inline constexpr uint32_t kMmapEntrySize = sizeof(MmapEntry) - sizeof(uint32_t);

}  // namespace kvmm::multiboot_abi

#pragma once
// The bzImage loader: the x86 Linux boot protocol (Documentation/arch/x86/
// boot.rst) entered through its 64-bit entry point, so no real-mode setup
// code and no BIOS are needed.
#include <cstdint>
#include <filesystem>

#include "base/memory/guest_memory.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/linux/boot_params.h"
#include "vmm/boot/linux/cmdline_initrd.h"
#include "vmm/boot/linux/linux_boot.h"

namespace kvmm {

// Protocol 2.12 added xloadflags, which says whether the 64-bit entry exists.
inline constexpr uint16_t kMinBootProtocol = 0x020c;
// The 64-bit entry point is this far into the protected-mode kernel.
inline constexpr uint64_t kBzImage64BitEntryOffset = 0x200;
// heap_end_ptr: the setup heap runs to the end of the real-mode segment.
inline constexpr uint16_t kSetupHeapEnd = 0xfe00;

// A bzImage whose header kvmm has checked.
struct BzImage {
  // The header as the file has it: the bytes the kernel declares (the
  // protocol's "0x0202 + byte at 0x0201") and zeros after them.
  linux_abi::SetupHeader header{};
  uint64_t header_length = 0;   // Bytes of `header` taken from the file.
  uint64_t payload_offset = 0;  // (setup_sects + 1) * 512.
  uint64_t payload_size = 0;    // The rest of the file: the protected-mode kernel.
  // Where the protected-mode kernel goes. The 64-bit decompressor never runs
  // below LOAD_PHYSICAL_ADDR, which is pref_address, and init_size counts
  // from where it runs: so kvmm loads at pref_address (rounded up to
  // kernel_alignment for a relocatable kernel: boot.rst's "runtime start").
  // Loading lower, e.g. at 1 MiB, would save no memory and leave the
  // kernel's real extent unknown.
  uint64_t load_address = 0;
  // load_address + max(init_size, payload_size): what the kernel needs
  // before it reads the e820 map.
  uint64_t kernel_end = 0;
};

// Checks the header of `file` (opened from `path`, named in messages):
// boot flag, HdrS magic, protocol >= 2.12, LOADED_HIGH, XLF_KERNEL_64, a
// power-of-two kernel_alignment when relocatable, a payload that is all
// there (at least syssize * 16 bytes, or less by syssize's rounding unless
// the compressed kernel, payload_offset + payload_length, is cut off) and a
// kernel that would start at or above 1 MiB, clear of kvmm's boot data.
// Throws Error naming what is wrong.
BzImage parse_bzimage(const ImageFile& file, const std::filesystem::path& path);

// Writes the zero page (struct boot_params) at kZeroPageAddress for `image`:
// its setup header, then the loader's fields from `placement` and the e820
// map. Throws Error when guest memory has no room for it.
void write_boot_params(const GuestMemory& memory, const BzImage& image,
                       const BootDataPlacement& placement);

// Loads request.kernel as a bzImage: parse_bzimage(), the payload at its
// load_address, the command line, the initrd, then write_boot_params().
LinuxBootInfo load_bzimage(const GuestMemory& memory, const LinuxBootRequest& request);

}  // namespace kvmm

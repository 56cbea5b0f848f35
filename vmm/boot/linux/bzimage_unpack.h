#pragma once
// A bzImage booted without its own decompressor: kvmm decompresses the
// payload on the host (vmm/boot/linux/payload_decompress.h) and, when that
// is an ELF vmlinux with a PVH entry note, boots it through PVH, as
// Firecracker and cloud-hypervisor boot a vmlinux. The guest then skips
// decompressing itself, which under nested KVM is much of its boot time.
//
// The payload (boot protocol 2.08: payload_offset, payload_length) of a
// relocatable kernel is vmlinux.bin followed by its relocations; the PVH
// loader reads only what the ELF headers describe, so the tail is ignored.
// Anything that does not work out (another format, a corrupt or oversized
// payload, a kernel built without CONFIG_PVH) leaves the bzImage to boot as
// it always did, with a note saying why.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vmm/boot/image_file.h"
#include "vmm/boot/linux/kernel_cache.h"

namespace kvmm {

// --kernel-unpack: cache (decompress once, keep the result in the user's
// cache directory), memory (decompress at every boot), off (the guest
// decompresses).
enum class KernelUnpack { kCache, kMemory, kOff };
std::string_view kernel_unpack_name(KernelUnpack mode);

// No kernel decompresses to more than this, whatever its init_size says.
inline constexpr uint64_t kMaxUnpackedKernel = 1ull << 30;

// An ELF vmlinux from a bzImage, with what the bzImage's header says the
// boot may use, so that the guest gets the same command line and initrd
// limits, and the same refusals, as through the bzImage's own entry.
struct UnpackedKernel {
  ImageFile elf;
  uint64_t cmdline_size = 0;     // The bzImage's cmdline_size.
  uint64_t initrd_end_limit = 0;  // The bzImage's initrd_addr_max + 1.
  uint64_t kernel_end = 0;        // Where the bzImage's kernel would end (init_size).
};

struct UnpackOutcome {
  std::optional<UnpackedKernel> kernel;
  // For the boot trace: how the kernel was unpacked, or why it was not;
  // empty for a file that is no bzImage (load_linux() says what it is).
  std::string note;
};

// Unpacks the bzImage `file` (opened from `path`) for a PVH boot. With a
// `cache`, a hit skips the decompression and a miss is stored there,
// including the finding that the payload is no PVH vmlinux. The output is
// bounded by the header's init_size and by `max_output`. Never throws for
// the file's content: what cannot be unpacked is an outcome with a note.
UnpackOutcome unpack_bzimage(const ImageFile& file, const std::filesystem::path& path,
                             const KernelCache* cache, uint64_t max_output = kMaxUnpackedKernel);

}  // namespace kvmm

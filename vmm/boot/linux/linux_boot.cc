#include "vmm/boot/linux/linux_boot.h"

#include <elf.h>

#include <array>
#include <cstring>

#include "base/util/error.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/linux/boot_params.h"
#include "vmm/boot/linux/bzimage.h"
#include "vmm/boot/linux/pvh.h"

namespace kvmm {

namespace {

enum class KernelFormat { kElf, kBzImage, kGzip, kUnknown };

// Only the magic numbers decide; each loader then checks the whole header.
KernelFormat detect_format(const ImageFile& file) {
  std::array<uint8_t, SELFMAG> elf_magic{};
  if (file.size() >= elf_magic.size()) {
    file.read_exact(0, elf_magic);
    if (std::memcmp(elf_magic.data(), ELFMAG, SELFMAG) == 0) return KernelFormat::kElf;
  }
  uint32_t header_magic = 0;
  if (file.size() >= linux_abi::kHeaderMagicOffset + sizeof header_magic) {
    file.read_exact(linux_abi::kHeaderMagicOffset,
                    std::span(reinterpret_cast<uint8_t*>(&header_magic), sizeof header_magic));
    if (header_magic == linux_abi::kHeaderMagic) return KernelFormat::kBzImage;
  }
  // RFC 1952's ID1 ID2: a compressed image (Xen's xen-*.gz) that a
  // bootloader such as GRUB would decompress before loading.
  std::array<uint8_t, 2> gzip_magic{};
  if (file.size() >= gzip_magic.size()) {
    file.read_exact(0, gzip_magic);
    if (gzip_magic == std::array<uint8_t, 2>{0x1f, 0x8b}) return KernelFormat::kGzip;
  }
  return KernelFormat::kUnknown;
}

}  // namespace

LinuxBootInfo load_linux(const GuestMemory& memory, const LinuxBootRequest& request) {
  if (request.unpacked) {
    const UnpackedKernel& unpacked = *request.unpacked;
    return load_pvh_file(memory, request, unpacked.elf, request.kernel.string() + " (unpacked)",
                         PvhBootLimits{unpacked.cmdline_size, unpacked.initrd_end_limit,
                                       unpacked.kernel_end});
  }
  const ImageFile file = ImageFile::open(request.kernel, "kernel");
  switch (detect_format(file)) {
    case KernelFormat::kElf:
      return load_pvh(memory, request);
    case KernelFormat::kBzImage:
      return load_bzimage(memory, request);
    case KernelFormat::kGzip:
      throw Error("kernel " + request.kernel.string() +
                  " is gzip-compressed, and kvmm loads images as they are: decompress it "
                  "first (zcat FILE > FILE.bin) and give that");
    case KernelFormat::kUnknown:
      break;
  }
  throw Error("kernel " + request.kernel.string() +
              " is neither a bzImage (no HdrS magic) nor an ELF vmlinux: give the kernel image, "
              "e.g. /boot/vmlinuz-*");
}

}  // namespace kvmm

#include "vmm/boot/linux/cmdline_initrd.h"

#include <algorithm>
#include <cstring>

#include "base/util/error.h"
#include "base/util/format.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/linux/e820.h"
#include "vmm/boot/linux/linux_boot.h"

namespace kvmm {

namespace {

constexpr uint64_t kPageSize = 0x1000;

uint64_t mib_rounded_up(uint64_t bytes) { return bytes / kMiB + (bytes % kMiB != 0 ? 1 : 0); }

}  // namespace

void write_cmdline(const GuestMemory& memory, const KernelCmdline& cmdline, uint64_t max_length) {
  // boot.rst: the command line must sit below 0xa0000; kvmm's ends below the EBDA.
  constexpr uint64_t kRoom = kEbdaStart - kCmdlineAddress.value - 1;
  cmdline.check_length(std::min(max_length, kRoom));
  auto target = memory.slice(kCmdlineAddress, cmdline.size() + 1);
  if (!target) {
    throw Error("guest memory has no room for the kernel command line at " +
                hex(kCmdlineAddress.value) + ": raise --mem");
  }
  std::memcpy(target->data(), cmdline.str().data(), cmdline.size());
  (*target)[cmdline.size()] = 0;
}

InitrdPlacement load_initrd(const GuestMemory& memory, const std::filesystem::path& path,
                            uint64_t floor, uint64_t end_limit) {
  ImageFile file = ImageFile::open(path, "initrd");
  const uint64_t size = file.size();
  if (size == 0) {
    throw Error("initrd " + path.string() +
                " is empty: give a cpio archive (e.g. /boot/initrd.img-*) or leave --initrd out");
  }
  if (size > end_limit || ((end_limit - size) & ~(kPageSize - 1)) < floor) {
    throw Error("initrd " + path.string() + " (" + std::to_string(mib_rounded_up(size)) +
                " MiB) does not fit in guest memory below " + hex(end_limit) +
                " above the kernel's end at " + hex(floor) + ": raise --mem");
  }
  const uint64_t address = (end_limit - size) & ~(kPageSize - 1);
  auto target = memory.slice(GuestAddress{address}, size);
  if (!target) {
    throw Error("initrd " + path.string() + " at " + hex(address) +
                " is not in guest memory: raise --mem");
  }
  file.read_exact(0, *target);
  return {address, size};
}

void require_kernel_fits(const std::string& name, uint64_t kernel_end, uint64_t ram_bytes) {
  if (kernel_end <= low_ram_end(ram_bytes)) return;
  throw Error(name + " needs guest memory up to " + hex(kernel_end) + " (" +
              std::to_string((kernel_end + kMiB - 1) / kMiB) + " MiB) to start; --mem gives " +
              std::to_string(ram_bytes / kMiB) + " MiB: raise --mem");
}

}  // namespace kvmm

// Boot images that Debian builds and ships, none of them Linux, given to
// kvmm's loaders: each is accepted with the layout its header asks for, or
// refused with one line that names the problem and the way out. Each test
// skips (with a warning) when its package is not installed; tools/test
// installs memtest86+, syslinux-common and ipxe.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/util/error.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/linux/boot_params.h"
#include "vmm/boot/linux/bzimage.h"
#include "vmm/boot/linux/kernel_cmdline.h"
#include "vmm/boot/linux/linux_boot.h"
#include "vmm/boot/multiboot/multiboot.h"

using namespace kvmm;
using linux_abi::BootParams;

namespace {

// Packed fields cannot bind to the references CHECK takes: copy them out.
template <typename T>
T value(T field) {
  return field;
}

// False, with a warning naming the package, when `path` is not installed.
bool installed(const std::filesystem::path& path, const std::string& package) {
  if (std::filesystem::exists(path)) return true;
  WARN("skipped: " << path.string() << " is missing (Debian package " << package << ")");
  return false;
}

LinuxBootRequest request_for(const std::filesystem::path& path, uint64_t ram_bytes) {
  LinuxBootRequest request;
  request.kernel = path;
  request.ram_bytes = ram_bytes;
  request.cmdline = KernelCmdline("console=ttyS0,115200");
  return request;
}

// The image goes to the Linux loader (as kvmm run sends it: no multiboot
// header) and load_linux refuses it with `message`, the whole line.
void check_refused(const std::filesystem::path& path, const std::string& message) {
  CHECK_FALSE(has_multiboot_header(ImageFile::open(path, "kernel")));
  GuestMemory memory = make_guest_memory(256 * kMiB);
  CHECK_THROWS_WITH(load_linux(memory, request_for(path, 256 * kMiB)),
                    "kernel " + path.string() + message);
}

}  // namespace

// memtest86+ 6.10 (Debian 12): a bzImage header of protocol 2.12 with
// XLF_KERNEL_64, not relocatable, run at 1 MiB, with no compressed payload
// (payload_length 0) and a file 8 bytes short of syssize * 16. The .efi is
// the same program behind a PE header, and loads the same way.
TEST_CASE("Debian images: memtest86+x64.bin and .efi load at 1 MiB with the 64-bit entry") {
  for (const char* file : {"/boot/memtest86+x64.bin", "/boot/memtest86+x64.efi"}) {
    const std::filesystem::path path = file;
    if (!installed(path, "memtest86+")) continue;
    INFO(path.string());
    const ImageFile image_file = ImageFile::open(path, "kernel");
    CHECK_FALSE(has_multiboot_header(image_file));
    const BzImage image = parse_bzimage(image_file, path);
    CHECK(value(image.header.version) == 0x020c);
    CHECK(value(image.header.relocatable_kernel) == 0);
    CHECK(value(image.header.payload_length) == 0);
    CHECK(image.load_address == 0x100000);
    CHECK(image.kernel_end == 0x100000 + uint64_t{value(image.header.init_size)});
    CHECK(image.payload_size == image_file.size() - image.payload_offset);

    const uint64_t ram = 256 * kMiB;
    GuestMemory memory = make_guest_memory(ram);
    const LinuxBootInfo info = load_linux(memory, request_for(path, ram));
    CHECK(info.protocol == LinuxBootInfo::Protocol::kBzImage64);
    CHECK(info.entry.value == 0x100200);
    CHECK(info.kernel_load == 0x100000);
    // The last byte of the file lands in guest memory, nothing past it.
    std::vector<uint8_t> last(1);
    image_file.read_exact(image_file.size() - 1, last);
    auto loaded = memory.slice(GuestAddress{0x100000 + image.payload_size - 1}, 1);
    REQUIRE(loaded.has_value());
    CHECK((*loaded)[0] == last[0]);
    // memtest86+ takes its serial console from the command line and its
    // memory from the e820 map in the zero page.
    auto params = memory.read_obj<BootParams>(kZeroPageAddress);
    REQUIRE(params.has_value());
    CHECK(value(params->hdr.cmd_line_ptr) == kCmdlineAddress.value);
    CHECK(value(params->e820_entries) >= 3);
  }
}

TEST_CASE("Debian images: memtest86+ia32.bin is refused: it has only a 32-bit entry") {
  const std::filesystem::path path = "/boot/memtest86+ia32.bin";
  if (!installed(path, "memtest86+")) return;
  check_refused(path,
                " has no 64-bit entry point (XLF_KERNEL_64 is not set) and kvmm enters a "
                "bzImage only in 64-bit mode: give the image's 64-bit (x86_64) build");
}

// syslinux's memdisk (protocol 2.03) and iPXE's ipxe.lkrn (2.07) run their
// real-mode setup code and call the BIOS: refused before a vCPU runs.
TEST_CASE("Debian images: memdisk and ipxe.lkrn are refused: they need a BIOS") {
  const std::string needs_bios =
      "), so it has no 64-bit entry and starts only in its 16-bit setup code, which needs a "
      "BIOS kvmm does not provide: boot it with QEMU, or give a Linux kernel from 2013 or newer";
  const std::filesystem::path memdisk = "/usr/lib/syslinux/memdisk";
  if (installed(memdisk, "syslinux-common")) {
    check_refused(memdisk, " uses boot protocol 2.03 (before 2.12" + needs_bios);
  }
  const std::filesystem::path ipxe = "/boot/ipxe.lkrn";
  if (installed(ipxe, "ipxe")) {
    check_refused(ipxe, " uses boot protocol 2.07 (before 2.12" + needs_bios);
  }
}

#include "vmm/boot/linux/bzimage.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/util/error.h"
#include "base/util/format.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/linux/cmdline_initrd.h"
#include "vmm/boot/linux/e820.h"

namespace kvmm {

using linux_abi::BootParams;
using linux_abi::SetupHeader;

namespace {

// "2.15": the major byte, then the minor byte as two decimal digits.
std::string protocol_name(uint16_t version) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%02u", static_cast<unsigned>(version >> 8),
                static_cast<unsigned>(version & 0xff));
  return buf;
}

// The last header field kvmm reads is init_size (protocol 2.10).
constexpr uint64_t kRequiredHeaderLength = offsetof(SetupHeader, init_size) + sizeof(uint32_t);

// syssize counts 16-byte paragraphs, rounded up (arch/x86/boot/tools/
// build.c: sys_size = (sz + 15 + 4) / 16), so an image whose last paragraph
// is partial ends up to 15 bytes before syssize * 16; GRUB and QEMU load it
// from the file's size. Such a tail is accepted unless the compressed kernel
// that payload_offset and payload_length describe (protocol 2.08, counted
// from the start of the protected-mode code) reaches past the file's end.
// An image that describes no compressed kernel (payload_length 0, e.g.
// memtest86+x64.bin, 8 bytes short of its syssize) has nothing finer to
// check, and loads as GRUB and QEMU load it. A shorter file is truncated.
bool is_rounding_tail(const SetupHeader& header, uint64_t payload_size, uint64_t announced) {
  const uint64_t missing = announced - payload_size;
  if (missing >= 16) return false;
  if (header.payload_length == 0) return true;
  const uint64_t compressed_end = uint64_t{header.payload_offset} + header.payload_length;
  return compressed_end <= payload_size;
}

}  // namespace

BzImage parse_bzimage(const ImageFile& file, const std::filesystem::path& path) {
  const std::string name = "kernel " + path.string();
  BzImage image;
  constexpr uint64_t kHeaderEnd = linux_abi::kSetupHeaderOffset + sizeof(SetupHeader);
  if (file.size() < kHeaderEnd) {
    throw Error(name + " is " + std::to_string(file.size()) +
                " bytes, too small to hold a bzImage setup header: it is truncated or not a "
                "kernel");
  }
  // The whole header is file content: untrusted until checked below.
  SetupHeader header{};
  file.read_exact(linux_abi::kSetupHeaderOffset,
                  std::span(reinterpret_cast<uint8_t*>(&header), sizeof header));
  if (header.boot_flag != linux_abi::kBootFlag) {
    throw Error(name + " has no boot flag 0xaa55 at " + hex(linux_abi::kBootFlagOffset) +
                ": it is not a bzImage; give the kernel image, e.g. /boot/vmlinuz-*");
  }
  if (header.header != linux_abi::kHeaderMagic) {
    throw Error(name + " is not a bzImage (no HdrS magic at " + hex(linux_abi::kHeaderMagicOffset) +
                "): give the kernel image, e.g. /boot/vmlinuz-*");
  }
  const uint16_t version = header.version;
  // Before 2.12 no header can announce a 64-bit entry: such an image starts
  // only in its 16-bit setup code, which calls the BIOS (int 10h, 13h, 15h)
  // that kvmm does not provide. Refused here, not left to triple-fault.
  if (version < kMinBootProtocol) {
    throw Error(name + " uses boot protocol " + protocol_name(version) + " (before " +
                protocol_name(kMinBootProtocol) +
                "), so it has no 64-bit entry and starts only in its 16-bit setup code, "
                "which needs a BIOS kvmm does not provide: boot it with QEMU, or give a "
                "Linux kernel from 2013 or newer");
  }
  if ((header.loadflags & linux_abi::kLoadedHigh) == 0) {
    throw Error(name + " is a zImage (LOADED_HIGH is not set): kvmm boots only bzImage kernels");
  }
  // A 32-bit image (e.g. memtest86+ia32.bin) has only the 32-bit entry,
  // which would need a 32-bit boot path kvmm does not have.
  if ((header.xloadflags & linux_abi::kXlfKernel64) == 0) {
    throw Error(name +
                " has no 64-bit entry point (XLF_KERNEL_64 is not set) and kvmm enters a "
                "bzImage only in 64-bit mode: give the image's 64-bit (x86_64) build");
  }

  // boot.rst: the header ends at 0x202 + the byte at 0x201 (the jump's offset).
  const uint64_t declared_end = linux_abi::kHeaderMagicOffset + (header.jump >> 8);
  const uint64_t declared_length = declared_end - linux_abi::kSetupHeaderOffset;
  if (declared_length < kRequiredHeaderLength) {
    throw Error(name + " declares a setup header of " + std::to_string(declared_length) +
                " bytes, too short for boot protocol " + protocol_name(version) +
                ": the file is corrupt");
  }
  image.header_length = std::min<uint64_t>(declared_length, sizeof(SetupHeader));
  // Keep only the declared bytes: what follows them is code, not header.
  std::memcpy(&image.header, &header, image.header_length);

  const uint64_t setup_sects =
      header.setup_sects == 0 ? linux_abi::kDefaultSetupSects : header.setup_sects;
  image.payload_offset = (setup_sects + 1) * linux_abi::kSectorSize;
  image.payload_size = file.size() > image.payload_offset ? file.size() - image.payload_offset : 0;
  const uint64_t announced = uint64_t{header.syssize} * 16;
  if (image.payload_size == 0 ||
      (image.payload_size < announced &&
       !is_rounding_tail(header, image.payload_size, announced))) {
    throw Error(name + " is truncated: its header announces " + std::to_string(announced) +
                " bytes of kernel after the " + std::to_string(image.payload_offset) +
                "-byte setup code, the file has " + std::to_string(image.payload_size) +
                ": copy the kernel again");
  }
  // RIP starts this far into the payload: a shorter one would have the vCPU
  // run whatever lies beyond the kernel.
  if (image.payload_size <= kBzImage64BitEntryOffset) {
    throw Error(name + " has only " + std::to_string(image.payload_size) +
                " bytes of kernel after its setup code, too few to hold the 64-bit entry point at " +
                hex(kBzImage64BitEntryOffset) + ": the file is corrupt");
  }

  const uint64_t pref_address = header.pref_address;
  image.load_address = pref_address;
  if (header.relocatable_kernel != 0) {
    const uint64_t alignment = header.kernel_alignment;
    if (!std::has_single_bit(alignment)) {
      throw Error(name + " has kernel_alignment " + hex(alignment) +
                  ", not a power of two: the file is corrupt");
    }
    if (pref_address > UINT64_MAX - (alignment - 1)) {
      throw Error(name + " has pref_address " + hex(pref_address) + ": the file is corrupt");
    }
    image.load_address = (pref_address + alignment - 1) & ~(alignment - 1);
  }
  if (image.load_address < kHighMemoryStart) {
    throw Error(name + " wants to run at " + hex(image.load_address) +
                ", below 1 MiB where kvmm keeps boot data: give a bzImage built for 1 MiB "
                "or above");
  }
  const uint64_t extent = std::max<uint64_t>(header.init_size, image.payload_size);
  if (image.load_address > UINT64_MAX - extent) {
    throw Error(name + " has pref_address " + hex(pref_address) + ": the file is corrupt");
  }
  image.kernel_end = image.load_address + extent;
  return image;
}

LinuxBootInfo load_bzimage(const GuestMemory& memory, const LinuxBootRequest& request) {
  const std::string name = "kernel " + request.kernel.string();
  ImageFile file = ImageFile::open(request.kernel, "kernel");
  const BzImage image = parse_bzimage(file, request.kernel);

  require_kernel_fits(name, image.kernel_end, request.ram_bytes);
  const uint64_t low_end = low_ram_end(request.ram_bytes);
  auto target = memory.slice(GuestAddress{image.load_address}, image.payload_size);
  if (!target) {
    throw Error(name + " does not fit in guest memory at " + hex(image.load_address) +
                ": raise --mem");
  }
  file.read_exact(image.payload_offset, *target);

  write_cmdline(memory, request.cmdline, image.header.cmdline_size);

  LinuxBootInfo info;
  info.protocol = LinuxBootInfo::Protocol::kBzImage64;
  info.entry = GuestAddress{image.load_address + kBzImage64BitEntryOffset};
  info.boot_data = kZeroPageAddress;
  info.kernel_load = image.load_address;
  info.kernel_end = image.kernel_end;
  BootDataPlacement placement;
  placement.ram_bytes = request.ram_bytes;
  placement.acpi_rsdp = request.acpi_rsdp;
  if (request.initrd) {
    // initrd_addr_max is the highest address the initrd's last byte may have.
    const uint64_t end_limit = std::min(uint64_t{image.header.initrd_addr_max} + 1, low_end);
    placement.initrd = load_initrd(memory, *request.initrd, image.kernel_end, end_limit);
    info.initrd_address = placement.initrd.address;
    info.initrd_size = placement.initrd.size;
  }
  write_boot_params(memory, image, placement);
  return info;
}

void write_boot_params(const GuestMemory& memory, const BzImage& image,
                       const BootDataPlacement& placement) {
  // boot.rst, 64-bit boot protocol: a zeroed boot_params, the file's setup
  // header copied in, then the loader's fields filled.
  BootParams params{};
  params.hdr = image.header;
  params.hdr.type_of_loader = linux_abi::kLoaderTypeUndefined;
  // The real-mode setup code that uses the heap does not run on the 64-bit
  // entry; the fields are filled as the protocol asks of every loader.
  params.hdr.loadflags = static_cast<uint8_t>(params.hdr.loadflags | linux_abi::kCanUseHeap);
  params.hdr.heap_end_ptr = kSetupHeapEnd;
  params.hdr.cmd_line_ptr = static_cast<uint32_t>(kCmdlineAddress.value);
  params.ext_cmd_line_ptr = 0;
  // The initrd lies in low RAM (below 3 GiB): the high halves stay 0.
  params.hdr.ramdisk_image = static_cast<uint32_t>(placement.initrd.address);
  params.hdr.ramdisk_size = static_cast<uint32_t>(placement.initrd.size);
  params.ext_ramdisk_image = static_cast<uint32_t>(placement.initrd.address >> 32);
  params.ext_ramdisk_size = static_cast<uint32_t>(placement.initrd.size >> 32);
  if (placement.acpi_rsdp) params.acpi_rsdp_addr = placement.acpi_rsdp->value;

  const std::vector<E820Range> map = build_e820_map(placement.ram_bytes);
  static_assert(linux_abi::kZeroPageE820Entries <= UINT8_MAX);
  if (map.size() > linux_abi::kZeroPageE820Entries) {
    throw Error("the guest memory map has " + std::to_string(map.size()) +
                " ranges; the zero page holds " + std::to_string(linux_abi::kZeroPageE820Entries) +
                ": this is a kvmm bug");
  }
  for (size_t i = 0; i < map.size(); ++i) {
    params.e820_table[i].addr = map[i].address;
    params.e820_table[i].size = map[i].size;
    params.e820_table[i].type = static_cast<uint32_t>(map[i].type);
  }
  params.e820_entries = static_cast<uint8_t>(map.size());

  if (!memory.write_obj(kZeroPageAddress, params)) {
    throw Error("guest memory has no room for the zero page at " + hex(kZeroPageAddress.value) +
                ": raise --mem");
  }
}

}  // namespace kvmm

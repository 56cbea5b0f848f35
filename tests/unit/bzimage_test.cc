#include "vmm/boot/linux/bzimage.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "base/util/error.h"
#include "tests/support/test_files.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/linux/boot_params.h"
#include "vmm/boot/linux/linux_boot.h"

using namespace kvmm;
using kvmm::testing::TempFile;
using linux_abi::BootParams;
using linux_abi::SetupHeader;

namespace {


// Packed fields cannot bind to the references CHECK takes: copy them out.
template <typename T>
T value(T field) {
  return field;
}

std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 7 + seed);
  return bytes;
}

// A bzImage with a valid header, one setup sector and a patterned payload.
struct FakeBzImage {
  uint8_t setup_sects = 1;
  uint8_t header_end_byte = 0x6a;  // Declared end 0x202 + 0x6a = 0x26c: the whole header.
  uint16_t boot_flag = linux_abi::kBootFlag;
  uint16_t version = 0x020f;
  uint8_t loadflags = linux_abi::kLoadedHigh;
  uint16_t xloadflags = linux_abi::kXlfKernel64;
  uint8_t relocatable = 1;
  uint32_t kernel_alignment = 0x200000;
  uint64_t pref_address = 0x200000;
  uint32_t init_size = 0x100000;
  uint32_t initrd_addr_max = 0x7fffffff;
  uint32_t cmdline_size = 255;
  uint32_t kernel_info_offset = 0x1234;
  size_t payload_size = 0x1000;
  // syssize as the header says it (default: payload_size / 16), and the
  // compressed kernel's place in the payload (protocol 2.08).
  std::optional<uint32_t> syssize;
  uint32_t compressed_offset = 0;
  uint32_t compressed_length = 0;

  uint64_t payload_offset() const { return ((setup_sects == 0 ? 4u : setup_sects) + 1u) * 512u; }

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> file(payload_offset(), 0);
    SetupHeader header{};
    header.setup_sects = setup_sects;
    header.syssize = syssize.value_or(static_cast<uint32_t>(payload_size / 16));
    header.payload_offset = compressed_offset;
    header.payload_length = compressed_length;
    header.vid_mode = 0xffff;
    header.boot_flag = boot_flag;
    header.jump = static_cast<uint16_t>(0xeb | (header_end_byte << 8));
    header.header = linux_abi::kHeaderMagic;
    header.version = version;
    header.loadflags = loadflags;
    header.initrd_addr_max = initrd_addr_max;
    header.kernel_alignment = kernel_alignment;
    header.relocatable_kernel = relocatable;
    header.xloadflags = xloadflags;
    header.cmdline_size = cmdline_size;
    header.pref_address = pref_address;
    header.init_size = init_size;
    header.kernel_info_offset = kernel_info_offset;
    std::memcpy(file.data() + linux_abi::kSetupHeaderOffset, &header, sizeof header);
    const std::vector<uint8_t> payload = pattern(payload_size, 3);
    file.insert(file.end(), payload.begin(), payload.end());
    return file;
  }
};

LinuxBootRequest request_for(const TempFile& kernel, uint64_t ram_bytes) {
  LinuxBootRequest request;
  request.kernel = kernel.path;
  request.ram_bytes = ram_bytes;
  request.cmdline = KernelCmdline("console=ttyS0");
  return request;
}

BootParams zero_page(const GuestMemory& memory) {
  auto params = memory.read_obj<BootParams>(kZeroPageAddress);
  REQUIRE(params.has_value());
  return *params;
}

std::string read_string(const GuestMemory& memory, GuestAddress address, size_t max) {
  auto bytes = memory.slice(address, max);
  REQUIRE(bytes.has_value());
  const auto* begin = reinterpret_cast<const char*>(bytes->data());
  return std::string(begin, strnlen(begin, max));
}

// The Debian 6.1 bzImage the nested-host tests download, when present.
std::filesystem::path debian_kernel() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() /
         "build/nested-host/vmlinuz";
}

}  // namespace

TEST_CASE("bzImage: payload, command line, initrd and zero page land where the protocol says") {
  const uint64_t ram = 8 * kMiB;
  GuestMemory memory = make_guest_memory(ram);
  FakeBzImage fake;
  TempFile kernel(fake.bytes());
  TempFile initrd(pattern(5000, 11));
  LinuxBootRequest request = request_for(kernel, ram);
  request.initrd = initrd.path;
  request.acpi_rsdp = GuestAddress{0xe0000};

  const LinuxBootInfo info = load_bzimage(memory, request);
  CHECK(info.protocol == LinuxBootInfo::Protocol::kBzImage64);
  CHECK(info.entry == GuestAddress{0x200200});
  CHECK(info.boot_data == kZeroPageAddress);
  CHECK(info.kernel_load == 0x200000);
  CHECK(info.kernel_end == 0x300000);
  // Highest 4 KiB-aligned start with the end at or below 8 MiB.
  CHECK(info.initrd_address == ((ram - 5000) & ~0xfffULL));
  CHECK(info.initrd_size == 5000);

  auto payload = memory.slice(GuestAddress{0x200000}, fake.payload_size + 1);
  REQUIRE(payload.has_value());
  CHECK(std::equal(payload->begin(), payload->end() - 1, pattern(fake.payload_size, 3).begin()));
  CHECK(payload->back() == 0);
  auto initrd_bytes = memory.slice(GuestAddress{info.initrd_address}, 5000);
  REQUIRE(initrd_bytes.has_value());
  CHECK(std::equal(initrd_bytes->begin(), initrd_bytes->end(), pattern(5000, 11).begin()));
  CHECK(read_string(memory, kCmdlineAddress, 256) == "console=ttyS0");

  const BootParams params = zero_page(memory);
  // Copied from the file.
  CHECK(value(params.hdr.boot_flag) == 0xaa55);
  CHECK(value(params.hdr.header) == linux_abi::kHeaderMagic);
  CHECK(value(params.hdr.version) == 0x020f);
  CHECK(value(params.hdr.vid_mode) == 0xffff);
  CHECK(value(params.hdr.init_size) == 0x100000);
  CHECK(value(params.hdr.kernel_info_offset) == 0x1234);
  // Filled by the loader.
  CHECK(value(params.hdr.type_of_loader) == 0xff);
  CHECK(value(params.hdr.loadflags) == (linux_abi::kLoadedHigh | linux_abi::kCanUseHeap));
  CHECK(value(params.hdr.heap_end_ptr) == 0xfe00);
  CHECK(value(params.hdr.cmd_line_ptr) == 0x20000);
  CHECK(value(params.hdr.ramdisk_image) == info.initrd_address);
  CHECK(value(params.hdr.ramdisk_size) == 5000);
  CHECK(value(params.ext_ramdisk_image) == 0);
  CHECK(value(params.acpi_rsdp_addr) == 0xe0000);
  CHECK(value(params.sentinel) == 0);
  REQUIRE(value(params.e820_entries) == 3);
  CHECK(value(params.e820_table[0].addr) == 0);
  CHECK(value(params.e820_table[0].size) == 0x9fc00);
  CHECK(value(params.e820_table[0].type) == 1);
  CHECK(value(params.e820_table[1].addr) == 0x9fc00);
  CHECK(value(params.e820_table[1].size) == 0x100000 - 0x9fc00);
  CHECK(value(params.e820_table[1].type) == 2);
  CHECK(value(params.e820_table[2].addr) == 0x100000);
  CHECK(value(params.e820_table[2].size) == ram - 0x100000);
  CHECK(value(params.e820_table[2].type) == 1);
}

TEST_CASE("bzImage: only the header bytes the kernel declares are copied") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  FakeBzImage fake;
  fake.header_end_byte = 0x66;  // Ends at 0x268: kernel_info_offset is not header.
  TempFile kernel(fake.bytes());
  CHECK_NOTHROW(load_bzimage(memory, request_for(kernel, 8 * kMiB)));
  const BootParams params = zero_page(memory);
  CHECK(value(params.hdr.init_size) == 0x100000);
  CHECK(value(params.hdr.kernel_info_offset) == 0);
}

TEST_CASE("bzImage: no initrd leaves the ramdisk fields zero and no RSDP leaves it zero") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  TempFile kernel(FakeBzImage{}.bytes());
  const LinuxBootInfo info = load_bzimage(memory, request_for(kernel, 8 * kMiB));
  CHECK(info.initrd_size == 0);
  const BootParams params = zero_page(memory);
  CHECK(value(params.hdr.ramdisk_image) == 0);
  CHECK(value(params.hdr.ramdisk_size) == 0);
  CHECK(value(params.acpi_rsdp_addr) == 0);
}

TEST_CASE("bzImage: load address is pref_address, rounded up when relocatable") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  FakeBzImage fake;
  fake.pref_address = 0x180000;
  SECTION("relocatable: the runtime start, aligned to kernel_alignment") {
    TempFile kernel(fake.bytes());
    const LinuxBootInfo info = load_bzimage(memory, request_for(kernel, 8 * kMiB));
    CHECK(info.kernel_load == 0x200000);
    CHECK(info.entry == GuestAddress{0x200200});
  }
  SECTION("not relocatable: exactly pref_address") {
    fake.relocatable = 0;
    fake.kernel_alignment = 3;  // Ignored when not relocatable.
    TempFile kernel(fake.bytes());
    const LinuxBootInfo info = load_bzimage(memory, request_for(kernel, 8 * kMiB));
    CHECK(info.kernel_load == 0x180000);
    CHECK(info.kernel_end == 0x280000);
    CHECK(info.entry == GuestAddress{0x180200});
  }
}

TEST_CASE("bzImage: kernel_end covers the payload when it exceeds init_size") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  FakeBzImage fake;
  fake.init_size = 0x10;
  TempFile kernel(fake.bytes());
  CHECK(load_bzimage(memory, request_for(kernel, 8 * kMiB)).kernel_end == 0x201000);
}

TEST_CASE("bzImage: setup_sects 0 means 4") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  FakeBzImage fake;
  fake.setup_sects = 0;
  std::vector<uint8_t> bytes = fake.bytes();
  REQUIRE(bytes.size() == 5 * 512 + fake.payload_size);
  TempFile kernel(bytes);
  CHECK_NOTHROW(load_bzimage(memory, request_for(kernel, 8 * kMiB)));
  auto payload = memory.slice(GuestAddress{0x200000}, fake.payload_size);
  REQUIRE(payload.has_value());
  CHECK(std::equal(payload->begin(), payload->end(), pattern(fake.payload_size, 3).begin()));
}

TEST_CASE("bzImage: the initrd stays below initrd_addr_max and above the kernel") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  FakeBzImage fake;
  fake.initrd_addr_max = 0x5fffff;
  TempFile kernel(fake.bytes());
  TempFile initrd(pattern(0x2000, 1));
  LinuxBootRequest request = request_for(kernel, 8 * kMiB);
  request.initrd = initrd.path;
  const LinuxBootInfo info = load_bzimage(memory, request);
  CHECK(info.initrd_address == 0x5fe000);

  SECTION("an initrd exactly filling the room between kernel and limit fits") {
    TempFile exact(pattern(0x600000 - 0x300000, 2));
    request.initrd = exact.path;
    CHECK(load_bzimage(memory, request).initrd_address == 0x300000);
  }
}

TEST_CASE("bzImage: the command line may be exactly cmdline_size bytes") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  FakeBzImage fake;
  fake.cmdline_size = 16;
  TempFile kernel(fake.bytes());
  LinuxBootRequest request = request_for(kernel, 8 * kMiB);
  request.cmdline = KernelCmdline(std::string(16, 'a'));
  load_bzimage(memory, request);
  CHECK(read_string(memory, kCmdlineAddress, 64) == std::string(16, 'a'));

  request.cmdline = KernelCmdline(std::string(17, 'a'));
  CHECK_THROWS_WITH(load_bzimage(memory, request),
                    "--cmdline is 17 bytes; this kernel accepts at most 16: shorten it");
  // A NUL cannot reach the loader: the command line refuses it first.
  CHECK_THROWS_WITH(KernelCmdline(std::string("a\0b", 3)), Catch::Contains("NUL"));
}

TEST_CASE("bzImage: header errors name the file and the fix") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  FakeBzImage fake;

  SECTION("missing kernel") {
    LinuxBootRequest request;
    request.kernel = "/nonexistent/vmlinuz";
    request.ram_bytes = 8 * kMiB;
    CHECK_THROWS_WITH(load_bzimage(memory, request),
                      "kernel /nonexistent/vmlinuz does not exist: check the path");
  }
  SECTION("too small for a header") {
    TempFile kernel(std::vector<uint8_t>(0x200, 0));
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("too small to hold a bzImage setup header"));
  }
  SECTION("a payload too short to hold the 64-bit entry point") {
    // Found by tests/fuzz/kernel_loader_fuzz.cc: the entry at 0x200 lay
    // beyond kernel_end, in memory the kernel never owned.
    fake.payload_size = 0x200;
    fake.init_size = 0x100;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("has only 512 bytes of kernel after its setup code, too few to "
                                      "hold the 64-bit entry point at 0x200: the file is corrupt"));
  }
  SECTION("no boot flag") {
    fake.boot_flag = 0;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("has no boot flag 0xaa55"));
  }
  SECTION("no HdrS magic") {
    std::vector<uint8_t> bytes = fake.bytes();
    bytes[0x202] = 'X';
    TempFile kernel(bytes);
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("is not a bzImage (no HdrS magic"));
  }
  SECTION("protocol 2.02") {
    fake.version = 0x0202;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      "kernel " + kernel.path.string() +
                          " uses boot protocol 2.02 (before 2.12), so it has no 64-bit entry "
                          "and starts only in its 16-bit setup code, which needs a BIOS kvmm "
                          "does not provide: boot it with QEMU, or give a Linux kernel from "
                          "2013 or newer");
  }
  SECTION("protocol 2.11 is one short") {
    fake.version = 0x020b;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("uses boot protocol 2.11 (before 2.12)"));
  }
  SECTION("zImage") {
    fake.loadflags = 0;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("LOADED_HIGH"));
  }
  SECTION("no 64-bit entry") {
    fake.xloadflags = 0;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("XLF_KERNEL_64"));
  }
  SECTION("declared header too short") {
    fake.header_end_byte = 0x20;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("declares a setup header of"));
  }
  SECTION("truncated payload") {
    std::vector<uint8_t> bytes = fake.bytes();
    bytes.resize(bytes.size() - 16);
    TempFile kernel(bytes);
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      "kernel " + kernel.path.string() +
                          " is truncated: its header announces 4096 bytes of kernel after the "
                          "1024-byte setup code, the file has 4080: copy the kernel again");
  }
  SECTION("no payload at all") {
    std::vector<uint8_t> bytes = fake.bytes();
    bytes.resize(fake.payload_offset());
    TempFile kernel(bytes);
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("is truncated"));
  }
  SECTION("kernel_alignment not a power of two") {
    fake.kernel_alignment = 0x300000;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("kernel_alignment 0x300000, not a power of two"));
  }
  SECTION("pref_address that wraps when aligned") {
    fake.pref_address = UINT64_MAX - 5;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("the file is corrupt"));
  }
  SECTION("pref_address that wraps with init_size") {
    fake.relocatable = 0;
    fake.pref_address = UINT64_MAX - 5;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("the file is corrupt"));
  }
  SECTION("a kernel that wants to run below 1 MiB") {
    fake.relocatable = 0;
    fake.pref_address = 0x10000;
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("below 1 MiB"));
  }
}

TEST_CASE("bzImage: syssize rounded past the file's end is accepted unless the payload is cut") {
  // The last 16-byte paragraph is partial: syssize * 16 is 5 bytes past the
  // end, as arch/x86/boot/tools/build.c's rounding leaves it.
  FakeBzImage fake;
  fake.payload_size = 0x1000 - 5;
  fake.syssize = 0x1000 / 16;
  fake.compressed_offset = 0x3b0;
  fake.compressed_length = 0x800;
  const auto parse = [](const FakeBzImage& image) {
    TempFile kernel(image.bytes());
    return parse_bzimage(ImageFile::open(kernel.path, "kernel"), kernel.path);
  };
  const BzImage image = parse(fake);
  CHECK(image.payload_size == 0x1000 - 5);  // The file's bytes: nothing read past its end.

  // The payload loads too, every byte of it.
  GuestMemory memory = make_guest_memory(8 * kMiB);
  TempFile kernel(fake.bytes());
  CHECK_NOTHROW(load_bzimage(memory, request_for(kernel, 8 * kMiB)));

  SECTION("more than the rounding missing is truncated") {
    fake.payload_size = 0x1000 - 16;
    CHECK_THROWS_WITH(parse(fake), Catch::Contains("is truncated: its header announces 4096 bytes"));
  }
  SECTION("the compressed kernel cut off is truncated") {
    fake.compressed_length = 0x1000 - 0x3b0;  // Ends at syssize * 16, past the file.
    CHECK_THROWS_WITH(parse(fake), Catch::Contains("is truncated"));
  }
  SECTION("without payload_length (memtest86+) the file's size is taken, as GRUB and QEMU do") {
    fake.compressed_offset = 0;
    fake.compressed_length = 0;
    CHECK(parse(fake).payload_size == 0x1000 - 5);
    fake.payload_size = 0x1000 - 16;
    CHECK_THROWS_WITH(parse(fake), Catch::Contains("is truncated"));
  }
}

TEST_CASE("bzImage: memory errors say to raise --mem") {
  FakeBzImage fake;
  TempFile kernel(fake.bytes());

  SECTION("--mem too small for the kernel's init_size") {
    const uint64_t ram = 0x2ff000;  // The kernel needs [2 MiB, 3 MiB).
    GuestMemory memory = make_guest_memory(ram);
    CHECK_THROWS_WITH(load_bzimage(memory, request_for(kernel, ram)),
                      "kernel " + kernel.path.string() +
                          " needs guest memory up to 0x300000 (3 MiB) to start; --mem gives 2 "
                          "MiB: raise --mem");
  }
  SECTION("--mem too small for kernel and initrd together") {
    const uint64_t ram = 4 * kMiB;
    GuestMemory memory = make_guest_memory(ram);
    TempFile initrd(pattern(kMiB + 1, 5));  // 1 MiB of room above the kernel.
    LinuxBootRequest request = request_for(kernel, ram);
    request.initrd = initrd.path;
    CHECK_THROWS_WITH(load_bzimage(memory, request),
                      "initrd " + initrd.path.string() +
                          " (2 MiB) does not fit in guest memory below 0x400000 above the "
                          "kernel's end at 0x300000: raise --mem");
  }
  SECTION("initrd larger than all of memory") {
    const uint64_t ram = 4 * kMiB;
    GuestMemory memory = make_guest_memory(ram);
    TempFile initrd(pattern(5 * kMiB, 5));
    LinuxBootRequest request = request_for(kernel, ram);
    request.initrd = initrd.path;
    CHECK_THROWS_WITH(
        load_bzimage(memory, request),
        Catch::Contains("(5 MiB) does not fit in guest memory") && Catch::Contains("raise --mem"));
  }
  SECTION("missing and empty initrd") {
    GuestMemory memory = make_guest_memory(4 * kMiB);
    LinuxBootRequest request = request_for(kernel, 4 * kMiB);
    request.initrd = "/nonexistent/initrd.img";
    CHECK_THROWS_WITH(load_bzimage(memory, request),
                      "initrd /nonexistent/initrd.img does not exist: check the path");
    TempFile empty(std::vector<uint8_t>{});
    request.initrd = empty.path;
    CHECK_THROWS_WITH(load_bzimage(memory, request), Catch::Contains("is empty"));
  }
}

TEST_CASE("load_linux tells a bzImage from an ELF, a gzip file and anything else") {
  GuestMemory memory = make_guest_memory(8 * kMiB);

  TempFile bzimage(FakeBzImage{}.bytes());
  CHECK(load_linux(memory, request_for(bzimage, 8 * kMiB)).protocol ==
        LinuxBootInfo::Protocol::kBzImage64);

  // ELF magic alone goes to the ELF loader, which finds the rest missing.
  TempFile elf(std::vector<uint8_t>{0x7f, 'E', 'L', 'F', 2, 1, 1});
  CHECK_THROWS_WITH(load_linux(memory, request_for(elf, 8 * kMiB)),
                    Catch::Contains("is an ELF too small"));

  TempFile random(pattern(0x3000, 0x5a));
  CHECK_THROWS_WITH(load_linux(memory, request_for(random, 8 * kMiB)),
                    "kernel " + random.path.string() +
                        " is neither a bzImage (no HdrS magic) nor an ELF vmlinux: give the "
                        "kernel image, e.g. /boot/vmlinuz-*");
  TempFile gzip(std::vector<uint8_t>{0x1f, 0x8b, 8, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH(load_linux(memory, request_for(gzip, 8 * kMiB)),
                    "kernel " + gzip.path.string() +
                        " is gzip-compressed, and kvmm loads images as they are: decompress "
                        "it first (zcat FILE > FILE.bin) and give that");
  TempFile tiny(std::vector<uint8_t>{1, 2});
  CHECK_THROWS_WITH(load_linux(memory, request_for(tiny, 8 * kMiB)),
                    Catch::Contains("is neither a bzImage"));

  LinuxBootRequest missing;
  missing.kernel = "/nonexistent/bzImage";
  missing.ram_bytes = 8 * kMiB;
  CHECK_THROWS_WITH(load_linux(memory, missing),
                    "kernel /nonexistent/bzImage does not exist: check the path");
}

TEST_CASE("bzImage: Debian's 6.1 kernel parses and loads") {
  const std::filesystem::path path = debian_kernel();
  if (!std::filesystem::exists(path)) {
    WARN("skipped: no Debian kernel at " << path.string());
    return;
  }
  const ImageFile file = ImageFile::open(path, "kernel");
  const BzImage image = parse_bzimage(file, path);
  CHECK(value(image.header.version) >= 0x020f);
  CHECK(value(image.header.relocatable_kernel) != 0);
  CHECK((value(image.header.xloadflags) & linux_abi::kXlfKernel64) != 0);
  CHECK(image.load_address == value(image.header.pref_address));
  CHECK(image.kernel_end == image.load_address + value(image.header.init_size));

  const uint64_t ram = 512 * kMiB;
  GuestMemory memory = make_guest_memory(ram);
  LinuxBootRequest request;
  request.kernel = path;
  request.ram_bytes = ram;
  request.cmdline = KernelCmdline("console=ttyS0 panic=-1");
  const std::filesystem::path initrd = path.parent_path() / "initrd.gz";
  if (std::filesystem::exists(initrd)) request.initrd = initrd;
  const LinuxBootInfo info = load_linux(memory, request);
  CHECK(info.protocol == LinuxBootInfo::Protocol::kBzImage64);
  CHECK(info.entry.value == image.load_address + 0x200);
  if (request.initrd) {
    CHECK(info.initrd_address >= info.kernel_end);
    CHECK(info.initrd_address + info.initrd_size <= ram);
    CHECK(ram - (info.initrd_address + info.initrd_size) < 0x1000);
  }
  std::vector<uint8_t> start(64);
  file.read_exact(image.payload_offset, start);
  auto loaded = memory.slice(GuestAddress{image.load_address}, start.size());
  REQUIRE(loaded.has_value());
  CHECK(std::equal(start.begin(), start.end(), loaded->begin()));
  const BootParams params = zero_page(memory);
  CHECK(value(params.hdr.cmdline_size) >= request.cmdline.size());
  CHECK(value(params.hdr.cmd_line_ptr) == 0x20000);
}

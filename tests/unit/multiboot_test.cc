#include "vmm/boot/multiboot/multiboot.h"

#include <elf.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "base/util/error.h"
#include "tests/support/test_files.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/multiboot/multiboot_abi.h"

using namespace kvmm;
using kvmm::testing::TempFile;
namespace abi = kvmm::multiboot_abi;

namespace {

std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 13 + seed);
  return bytes;
}

template <typename T>
void put(std::vector<uint8_t>& file, uint64_t offset, const T& value) {
  if (file.size() < offset + sizeof value) file.resize(offset + sizeof value);
  std::memcpy(file.data() + offset, &value, sizeof value);
}

struct FakeSegment {
  uint32_t paddr;
  uint32_t offset;
  uint32_t file_size;
  uint32_t memory_size;
};

// An ELF32 kernel laid out as kvm-unit-tests links its x86 tests: code at
// 4 MiB whose first bytes hold the Multiboot header, then data with .bss.
struct FakeKernel {
  uint8_t elf_class = ELFCLASS32;
  uint16_t machine = EM_386;
  uint16_t type = ET_EXEC;
  uint32_t entry = 0x400010;
  std::vector<FakeSegment> segments = {{0x400000, 0x1000, 0x80, 0x80},
                                       {0x401000, 0x2000, 0x100, 0x3000}};
  uint64_t header_offset = 0x1000;
  uint32_t header_flags = 0;
  bool valid_checksum = true;

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> file;
    Elf32_Ehdr elf{};
    std::memcpy(elf.e_ident, ELFMAG, SELFMAG);
    elf.e_ident[EI_CLASS] = elf_class;
    elf.e_ident[EI_DATA] = ELFDATA2LSB;
    elf.e_ident[EI_VERSION] = EV_CURRENT;
    elf.e_type = type;
    elf.e_machine = machine;
    elf.e_version = EV_CURRENT;
    elf.e_entry = entry;
    elf.e_phoff = sizeof elf;
    elf.e_ehsize = sizeof elf;
    elf.e_phentsize = sizeof(Elf32_Phdr);
    elf.e_phnum = static_cast<uint16_t>(segments.size() + 1);
    put(file, 0, elf);
    // A program header loaders skip, as GNU_STACK in a real image.
    Elf32_Phdr stack{};
    stack.p_type = PT_GNU_STACK;
    put(file, sizeof elf, stack);
    for (size_t i = 0; i < segments.size(); ++i) {
      const FakeSegment& segment = segments[i];
      Elf32_Phdr program{};
      program.p_type = PT_LOAD;
      program.p_offset = segment.offset;
      program.p_vaddr = segment.paddr;
      program.p_paddr = segment.paddr;
      program.p_filesz = segment.file_size;
      program.p_memsz = segment.memory_size;
      program.p_align = 0x1000;
      put(file, sizeof elf + (i + 1) * sizeof program, program);
      const std::vector<uint8_t> data = pattern(segment.file_size, static_cast<uint8_t>(i + 1));
      if (file.size() < segment.offset + data.size()) file.resize(segment.offset + data.size());
      std::copy(data.begin(), data.end(), file.begin() + segment.offset);
    }
    const uint32_t checksum = 0U - abi::kHeaderMagic - header_flags + (valid_checksum ? 0U : 1U);
    put(file, header_offset, abi::Header{abi::kHeaderMagic, header_flags, checksum});
    return file;
  }
};

MultibootRequest request_for(const TempFile& kernel, uint64_t ram_bytes) {
  MultibootRequest request;
  request.kernel = kernel.path;
  request.ram_bytes = ram_bytes;
  return request;
}

// The error text with the temporary file's name replaced by K.
std::string load_error(const std::vector<uint8_t>& bytes, uint64_t ram_bytes = 8 * kMiB) {
  GuestMemory memory = make_guest_memory(ram_bytes);
  TempFile kernel(bytes);
  try {
    load_multiboot(memory, request_for(kernel, ram_bytes));
  } catch (const Error& error) {
    std::string message = error.what();
    const std::string path = kernel.path.string();
    for (size_t at = message.find(path); at != std::string::npos; at = message.find(path)) {
      message.replace(at, path.size(), "K");
    }
    return message;
  }
  return "no error";
}

std::string load_error(const FakeKernel& fake, uint64_t ram_bytes = 8 * kMiB) {
  return load_error(fake.bytes(), ram_bytes);
}

std::string read_string(const GuestMemory& memory, uint64_t address) {
  std::string text;
  for (uint64_t at = address;; ++at) {
    const auto byte = memory.read_obj<char>(GuestAddress{at});
    REQUIRE(byte.has_value());
    if (*byte == 0) return text;
    text.push_back(*byte);
  }
}

std::optional<MultibootHeaderLocation> find_in(const std::vector<uint8_t>& bytes) {
  TempFile file(bytes);
  return find_multiboot_header(ImageFile::open(file.path, "kernel"));
}

}  // namespace

TEST_CASE("Multiboot: segments load at p_paddr with .bss zeroed") {
  const uint64_t ram = 8 * kMiB;
  GuestMemory memory = make_guest_memory(ram);
  auto data = memory.slice(GuestAddress{0x401000}, 0x3000);
  REQUIRE(data.has_value());
  std::fill(data->begin(), data->end(), 0xff);

  const FakeKernel fake;
  const std::vector<uint8_t> bytes = fake.bytes();
  TempFile kernel(bytes);
  const MultibootBootInfo boot = load_multiboot(memory, request_for(kernel, ram));
  CHECK(boot.entry == GuestAddress{0x400010});
  CHECK(boot.load_start == 0x400000);
  CHECK(boot.load_end == 0x404000);
  CHECK(boot.info == GuestAddress{0x404000});
  CHECK(boot.module_size == 0);

  auto code = memory.slice(GuestAddress{0x400000}, 0x80);
  REQUIRE(code.has_value());
  CHECK(std::equal(code->begin(), code->end(), bytes.begin() + 0x1000));
  CHECK(std::equal(data->begin(), data->begin() + 0x100, bytes.begin() + 0x2000));
  CHECK(std::all_of(data->begin() + 0x100, data->end(), [](uint8_t byte) { return byte == 0; }));
  CHECK(kMultibootBootloaderMagic == 0x2badb002);
}

TEST_CASE("Multiboot: the Info describes memory, command line, module and memory map") {
  const uint64_t ram = 256 * kMiB;
  GuestMemory memory = make_guest_memory(ram);
  TempFile kernel(FakeKernel{}.bytes());
  const std::vector<uint8_t> environment = pattern(0x1234, 7);
  TempFile module(environment);
  MultibootRequest request = request_for(kernel, ram);
  request.module = module.path;
  request.cmdline = "-smp 2 foo";
  const MultibootBootInfo boot = load_multiboot(memory, request);

  const auto info = memory.read_obj<abi::Info>(boot.info);
  REQUIRE(info.has_value());
  CHECK(info->flags == (1U << 0 | 1U << 2 | 1U << 3 | 1U << 6));
  CHECK(info->mem_lower == 639);
  CHECK(info->mem_upper == 255 * 1024);
  // As GRUB and QEMU write it: argv[0] is the kernel.
  CHECK(read_string(memory, info->cmdline) == kernel.path.string() + " -smp 2 foo");

  REQUIRE(info->mods_count == 1);
  const auto entry = memory.read_obj<abi::Module>(GuestAddress{info->mods_addr});
  REQUIRE(entry.has_value());
  CHECK(entry->mod_start == boot.module_address);
  CHECK(entry->mod_end == boot.module_address + 0x1234);
  CHECK(boot.module_size == 0x1234);
  CHECK(boot.module_address % 0x1000 == 0);
  CHECK(boot.module_address >= boot.load_end);
  CHECK(read_string(memory, entry->string) == module.path.string());
  auto module_bytes = memory.slice(GuestAddress{entry->mod_start}, 0x1234);
  REQUIRE(module_bytes.has_value());
  CHECK(std::equal(module_bytes->begin(), module_bytes->end(), environment.begin()));

  // Every structure lies between the kernel's end and the module.
  for (uint64_t address : {uint64_t{info->cmdline}, uint64_t{info->mods_addr},
                           uint64_t{info->mmap_addr}, uint64_t{entry->string}}) {
    CHECK(address >= boot.load_end);
    CHECK(address < boot.module_address);
  }

  REQUIRE(info->mmap_length == 3 * sizeof(abi::MmapEntry));
  const uint64_t expected[3][3] = {
      {0, 0x9fc00, 1}, {0x9fc00, 0x60400, 2}, {0x100000, ram - 0x100000, 1}};
  // Walked the way a guest does: each entry's size excludes the size field.
  uint64_t at = info->mmap_addr;
  for (const auto& want : expected) {
    const auto range = memory.read_obj<abi::MmapEntry>(GuestAddress{at});
    REQUIRE(range.has_value());
    CHECK(range->size == 20);
    CHECK(uint64_t{range->base_addr} == want[0]);  // Packed: copied, not bound.
    CHECK(uint64_t{range->length} == want[1]);
    CHECK(range->type == want[2]);
    at += range->size + 4;
  }
  CHECK(at == info->mmap_addr + info->mmap_length);
}

TEST_CASE("Multiboot: without a module the Info says zero modules") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  TempFile kernel(FakeKernel{}.bytes());
  const MultibootBootInfo boot = load_multiboot(memory, request_for(kernel, 8 * kMiB));
  const auto info = memory.read_obj<abi::Info>(boot.info);
  REQUIRE(info.has_value());
  CHECK((info->flags & (1U << 3)) != 0);
  CHECK(info->mods_count == 0);
  CHECK(boot.module_address == 0);
  CHECK(read_string(memory, info->cmdline) == kernel.path.string());
}

TEST_CASE("Multiboot: RAM above 4 GiB is in the memory map, not in mem_upper") {
  const uint64_t ram = 4 * kGiB;
  GuestMemory memory = make_guest_memory(ram);
  TempFile kernel(FakeKernel{}.bytes());
  const MultibootBootInfo boot = load_multiboot(memory, request_for(kernel, ram));
  const auto info = memory.read_obj<abi::Info>(boot.info);
  REQUIRE(info.has_value());
  CHECK(info->mem_upper == (3 * kGiB - kMiB) / 1024);
  REQUIRE(info->mmap_length == 4 * sizeof(abi::MmapEntry));
  const auto high =
      memory.read_obj<abi::MmapEntry>(GuestAddress{info->mmap_addr + 3 * sizeof(abi::MmapEntry)});
  REQUIRE(high.has_value());
  CHECK(uint64_t{high->base_addr} == 4 * kGiB);  // Packed: copied, not bound.
  CHECK(uint64_t{high->length} == kGiB);
  CHECK(high->type == 1);
}

TEST_CASE("Multiboot: a kernel in low memory, as kvm-unit-tests' realmode.flat") {
  FakeKernel fake;
  fake.segments = {{0x8000, 0x1000, 0x286c, 0x286c}, {0xb000, 0x4000, 0x277c, 0x2a30}};
  fake.entry = 0x8000;
  fake.header_offset = 0x1000;
  GuestMemory memory = make_guest_memory(8 * kMiB);
  TempFile kernel(fake.bytes());
  const MultibootBootInfo boot = load_multiboot(memory, request_for(kernel, 8 * kMiB));
  CHECK(boot.load_start == 0x8000);
  CHECK(boot.load_end == 0xda30);
  CHECK(boot.info == GuestAddress{0xe000});
}

TEST_CASE("Multiboot: the header is found 4-byte aligned in the first 8192 bytes") {
  FakeKernel fake;
  std::vector<uint8_t> bytes = fake.bytes();
  const auto found = find_in(bytes);
  REQUIRE(found.has_value());
  CHECK(found->offset == 0x1000);
  CHECK(found->flags == 0);

  fake.header_offset = 0x1ff4;  // The last place it fits.
  fake.header_flags = 3;
  const auto last = find_in(fake.bytes());
  REQUIRE(last.has_value());
  CHECK(last->offset == 0x1ff4);
  CHECK(last->flags == 3);

  SECTION("beyond 8192 bytes") {
    fake.header_offset = 0x1ff8;
    CHECK_FALSE(find_in(fake.bytes()).has_value());
  }
  SECTION("misaligned") {
    bytes = FakeKernel{}.bytes();
    std::memmove(bytes.data() + 0x1002, bytes.data() + 0x1000, sizeof(abi::Header));
    bytes[0x1000] = bytes[0x1001] = 0;
    CHECK_FALSE(find_in(bytes).has_value());
  }
  SECTION("bad checksum") {
    fake.header_offset = 0x1000;
    fake.valid_checksum = false;
    CHECK_FALSE(find_in(fake.bytes()).has_value());
  }
  SECTION("a file shorter than a header") {
    CHECK_FALSE(find_in(std::vector<uint8_t>{0x02, 0xb0, 0xad, 0x1b}).has_value());
  }
  SECTION("has_multiboot_header") {
    TempFile file(FakeKernel{}.bytes());
    CHECK(has_multiboot_header(ImageFile::open(file.path, "kernel")));
    TempFile other(pattern(0x3000, 1));
    CHECK_FALSE(has_multiboot_header(ImageFile::open(other.path, "kernel")));
  }
}

TEST_CASE("Multiboot: header flags kvmm cannot meet are refused") {
  FakeKernel fake;
  SECTION("page-aligned modules and memory information are met") {
    fake.header_flags = 3;
    CHECK(load_error(fake) == "no error");
  }
  SECTION("optional bits are ignored") {
    fake.header_flags = 1U << 20;
    CHECK(load_error(fake) == "no error");
  }
  SECTION("a.out address fields") {
    fake.header_flags = 1U << 16;
    CHECK(load_error(fake) ==
          "multiboot kernel K asks for the a.out address fields (flag 16), which kvmm does not "
          "load: link it as ELF");
  }
  SECTION("video mode") {
    fake.header_flags = 1U << 2;
    CHECK_THAT(load_error(fake), Catch::Contains("asks for a video mode (flag 2)"));
  }
  SECTION("an unknown required bit") {
    fake.header_flags = 1U << 5 | 1;
    CHECK_THAT(load_error(fake),
               Catch::Contains("requires Multiboot header flag 5, which kvmm does not know"));
  }
  SECTION("no header") {
    fake.valid_checksum = false;
    CHECK_THAT(load_error(fake), Catch::Contains("multiboot kernel K has no Multiboot header"));
  }
}

TEST_CASE("Multiboot: ELF errors name the file and the fix") {
  FakeKernel fake;
  SECTION("not ELF") {
    std::vector<uint8_t> bytes = fake.bytes();
    bytes[0] = 0;
    CHECK_THAT(load_error(bytes), Catch::Contains("is not an ELF file: link it as ELF32"));
  }
  SECTION("64-bit ELF") {
    fake.elf_class = ELFCLASS64;
    CHECK_THAT(load_error(fake), Catch::Contains("objcopy -O elf32-i386"));
  }
  SECTION("another machine") {
    fake.machine = EM_ARM;
    CHECK_THAT(load_error(fake), Catch::Contains("not x86"));
  }
  SECTION("x86-64 machine is accepted") {
    fake.machine = EM_X86_64;
    CHECK(load_error(fake) == "no error");
  }
  SECTION("not an executable") {
    fake.type = ET_DYN;
    CHECK_THAT(load_error(fake), Catch::Contains("not an executable"));
  }
  SECTION("truncated ELF header") {
    fake.header_offset = 0;
    std::vector<uint8_t> bytes = fake.bytes();
    bytes.resize(40);
    CHECK_THAT(load_error(bytes), Catch::Contains("too small for an ELF header"));
  }
  SECTION("program headers past the end") {
    // The Multiboot header right after the ELF header, where the program
    // headers would start.
    std::vector<uint8_t> bytes = fake.bytes();
    bytes.resize(sizeof(Elf32_Ehdr));
    put(bytes, sizeof(Elf32_Ehdr), abi::Header{abi::kHeaderMagic, 0, 0U - abi::kHeaderMagic});
    CHECK_THAT(load_error(bytes), Catch::Contains("program headers past its end"));
  }
  SECTION("segment past the end of the file") {
    fake.segments[1].file_size = 0x3000;
    std::vector<uint8_t> bytes = fake.bytes();
    bytes.resize(0x2100);
    CHECK_THAT(load_error(bytes),
               Catch::Contains("past its end") && Catch::Contains("the file is truncated"));
  }
  SECTION("more file bytes than memory bytes") {
    fake.segments[1].memory_size = 0x10;
    CHECK_THAT(load_error(fake), Catch::Contains("more file bytes than memory bytes"));
  }
  SECTION("no PT_LOAD") {
    fake.segments.clear();
    CHECK_THAT(load_error(fake), Catch::Contains("no PT_LOAD segment"));
  }
  SECTION("overlapping segments") {
    fake.segments[1].paddr = 0x400040;
    CHECK_THAT(load_error(fake),
               Catch::Contains("has segments at 0x400000 (128 bytes) and 0x400040 that overlap"));
  }
  SECTION("entry outside the segments") {
    fake.entry = 0x500000;
    CHECK_THAT(load_error(fake), Catch::Contains("entry 0x500000 outside every loaded segment"));
  }
  SECTION("segment over the GDT page") {
    fake.segments[0].paddr = 0x400;
    fake.entry = 0x400;
    CHECK_THAT(load_error(fake), Catch::Contains("in the first page where kvmm keeps its GDT"));
  }
  SECTION("segment in the legacy hole") {
    fake.segments[0].paddr = 0x9f000;
    fake.segments[0].memory_size = 0x1000;
    fake.entry = 0x9f000;
    CHECK_THAT(load_error(fake), Catch::Contains("in the legacy hole [0x9fc00, 0x100000)"));
  }
  SECTION("segment beyond RAM") {
    CHECK(load_error(fake, 4 * kMiB) ==
          "multiboot kernel K needs guest memory up to 0x404000 (5 MiB) to start; --mem gives "
          "4 MiB: raise --mem");
  }
}

TEST_CASE("Multiboot: boot information and module must fit in RAM") {
  FakeKernel fake;
  GuestMemory memory = make_guest_memory(8 * kMiB);
  SECTION("no room after the kernel for the Info") {
    fake.segments[1].memory_size = 8 * kMiB - 0x401000;  // Ends at the end of RAM.
    TempFile kernel(fake.bytes());
    CHECK_THROWS_WITH(load_multiboot(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("the multiboot information after multiboot kernel") &&
                          Catch::Contains("raise --mem"));
  }
  SECTION("a module larger than RAM") {
    TempFile kernel(fake.bytes());
    TempFile module(pattern(4 * kMiB, 3));
    MultibootRequest request = request_for(kernel, 8 * kMiB);
    request.module = module.path;
    CHECK_THROWS_WITH(load_multiboot(memory, request),
                      "multiboot module " + module.path.string() +
                          " needs guest memory up to 0x805000 (9 MiB) to start; --mem gives 8 "
                          "MiB: raise --mem");
  }
  SECTION("a missing module") {
    TempFile kernel(fake.bytes());
    MultibootRequest request = request_for(kernel, 8 * kMiB);
    request.module = "/nonexistent/environ";
    CHECK_THROWS_WITH(load_multiboot(memory, request),
                      "multiboot module /nonexistent/environ does not exist: check the path");
  }
  SECTION("a NUL in the command line") {
    TempFile kernel(fake.bytes());
    MultibootRequest request = request_for(kernel, 8 * kMiB);
    request.cmdline = std::string("a\0b", 3);
    CHECK_THROWS_WITH(load_multiboot(memory, request), Catch::Contains("holds a NUL byte"));
  }
}

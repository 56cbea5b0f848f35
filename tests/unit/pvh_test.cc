#include "vmm/boot/linux/pvh.h"

#include <elf.h>
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
#include "vmm/boot/linux/hvm_start_info.h"
#include "vmm/boot/linux/linux_boot.h"

using namespace kvmm;
using kvmm::testing::TempFile;
using linux_abi::HvmMemmapTableEntry;
using linux_abi::HvmModlistEntry;
using linux_abi::HvmStartInfo;

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

// A minimal vmlinux: ELF header, a PT_LOAD and a PT_NOTE program header, one
// note, then the segment's bytes at kCodeOffset.
struct FakeElf {
  static constexpr uint64_t kNoteOffset = 0x100;
  static constexpr uint64_t kCodeOffset = 0x200;

  uint8_t elf_class = ELFCLASS64;
  uint16_t machine = EM_X86_64;
  uint16_t type = ET_EXEC;
  uint64_t paddr = 0x100000;
  size_t code_size = 64;
  uint64_t memsz = 0x3000;
  std::optional<uint64_t> file_size_override;  // p_filesz, if not code_size.
  std::optional<uint64_t> offset_override;     // p_offset, if not kCodeOffset.
  std::string note_name = "Xen";
  uint32_t note_type = linux_abi::kXenElfnotePhys32Entry;
  uint32_t entry = 0x100010;
  uint32_t entry_size = 4;  // Linux 6.1 on x86-64 emits 8 (a .quad).
  bool with_note = true;

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> file;
    Elf64_Ehdr elf{};
    std::memcpy(elf.e_ident, ELFMAG, SELFMAG);
    elf.e_ident[EI_CLASS] = elf_class;
    elf.e_ident[EI_DATA] = ELFDATA2LSB;
    elf.e_ident[EI_VERSION] = EV_CURRENT;
    elf.e_type = type;
    elf.e_machine = machine;
    elf.e_version = EV_CURRENT;
    elf.e_entry = 0xffffffff81000000;  // The 64-bit virtual entry, unused by PVH.
    elf.e_phoff = sizeof elf;
    elf.e_ehsize = sizeof elf;
    elf.e_phentsize = sizeof(Elf64_Phdr);
    elf.e_phnum = with_note ? 2 : 1;
    put(file, 0, elf);

    Elf64_Phdr load{};
    load.p_type = PT_LOAD;
    load.p_flags = PF_R | PF_X;
    load.p_offset = offset_override.value_or(kCodeOffset);
    load.p_vaddr = 0xffffffff81000000;
    load.p_paddr = paddr;
    load.p_filesz = file_size_override.value_or(code_size);
    load.p_memsz = memsz;
    load.p_align = 0x1000;
    put(file, sizeof elf, load);

    if (with_note) {
      Elf64_Phdr note{};
      note.p_type = PT_NOTE;
      note.p_offset = kNoteOffset;
      // A GNU note first, as in a real vmlinux, then the Xen one.
      note.p_filesz = 16 + 4 + (12 + 4 + entry_size);
      note.p_align = 4;
      put(file, sizeof elf + sizeof load, note);
      put(file, kNoteOffset, Elf64_Nhdr{4, 4, 1});
      std::memcpy(file.data() + kNoteOffset + 12, "GNU\0", 4);
      put(file, kNoteOffset + 16, uint32_t{0});
      const uint64_t xen = kNoteOffset + 20;
      put(file, xen, Elf64_Nhdr{4, entry_size, note_type});
      char name[4] = {};
      std::memcpy(name, note_name.data(), std::min<size_t>(note_name.size(), 3));
      put(file, xen + 12, name);
      if (entry_size == 8) {
        put(file, xen + 16, uint64_t{entry});
      } else {
        put(file, xen + 16, entry);
      }
    }
    file.resize(kCodeOffset);
    const std::vector<uint8_t> code = pattern(code_size, 9);
    file.insert(file.end(), code.begin(), code.end());
    return file;
  }
};

LinuxBootRequest request_for(const TempFile& kernel, uint64_t ram_bytes) {
  LinuxBootRequest request;
  request.kernel = kernel.path;
  request.ram_bytes = ram_bytes;
  request.cmdline = KernelCmdline("console=ttyS0 quiet");
  return request;
}

std::string load_error(const FakeElf& fake) {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  TempFile kernel(fake.bytes());
  try {
    load_pvh(memory, request_for(kernel, 8 * kMiB));
  } catch (const Error& error) {
    std::string message = error.what();
    // Tests compare the text after the temporary file's name.
    const std::string prefix = "kernel " + kernel.path.string();
    if (message.rfind(prefix, 0) == 0) message = "kernel K" + message.substr(prefix.size());
    return message;
  }
  return "no error";
}

}  // namespace

TEST_CASE("PVH: segments, command line, initrd and start_info land where the ABI says") {
  const uint64_t ram = 8 * kMiB;
  GuestMemory memory = make_guest_memory(ram);
  // Dirty the segment's memory, to see .bss zeroed.
  auto segment = memory.slice(GuestAddress{0x100000}, 0x3000);
  REQUIRE(segment.has_value());
  std::fill(segment->begin(), segment->end(), 0xff);

  FakeElf fake;
  TempFile kernel(fake.bytes());
  TempFile initrd(pattern(0x1800, 4));
  LinuxBootRequest request = request_for(kernel, ram);
  request.initrd = initrd.path;
  request.acpi_rsdp = GuestAddress{0xe0000};

  const LinuxBootInfo info = load_pvh(memory, request);
  CHECK(info.protocol == LinuxBootInfo::Protocol::kPvh);
  CHECK(info.entry == GuestAddress{0x100010});
  CHECK(info.boot_data == kStartInfoAddress);
  CHECK(info.kernel_load == 0x100000);
  CHECK(info.kernel_end == 0x103000);
  CHECK(info.initrd_address == ram - 0x2000);
  CHECK(info.initrd_size == 0x1800);

  const std::vector<uint8_t> code = pattern(fake.code_size, 9);
  CHECK(std::equal(code.begin(), code.end(), segment->begin()));
  CHECK(std::all_of(segment->begin() + static_cast<std::ptrdiff_t>(code.size()), segment->end(),
                    [](uint8_t byte) { return byte == 0; }));
  // Only the segment's memsz is touched.
  CHECK(memory.read_obj<uint8_t>(GuestAddress{0x103000}) == 0);

  auto line = memory.slice(kCmdlineAddress, request.cmdline.size() + 1);
  REQUIRE(line.has_value());
  CHECK(std::string(line->begin(), line->end() - 1) == request.cmdline.str());
  CHECK(line->back() == 0);

  auto start = memory.read_obj<HvmStartInfo>(kStartInfoAddress);
  REQUIRE(start.has_value());
  CHECK(start->magic == 0x336ec578);
  CHECK(start->version == 1);
  CHECK(start->flags == 0);
  CHECK(start->cmdline_paddr == 0x20000);
  CHECK(start->rsdp_paddr == 0xe0000);
  REQUIRE(start->nr_modules == 1);
  CHECK(start->modlist_paddr == kPvhModlistAddress.value);
  auto module = memory.read_obj<HvmModlistEntry>(GuestAddress{start->modlist_paddr});
  REQUIRE(module.has_value());
  CHECK(module->paddr == info.initrd_address);
  CHECK(module->size == 0x1800);
  CHECK(module->cmdline_paddr == 0);

  CHECK(start->memmap_paddr == kPvhMemmapAddress.value);
  REQUIRE(start->memmap_entries == 3);
  const uint64_t expected[3][3] = {
      {0, 0x9fc00, 1}, {0x9fc00, 0x60400, 2}, {0x100000, ram - 0x100000, 1}};
  for (uint32_t i = 0; i < 3; ++i) {
    auto entry = memory.read_obj<HvmMemmapTableEntry>(
        GuestAddress{start->memmap_paddr + i * sizeof(HvmMemmapTableEntry)});
    REQUIRE(entry.has_value());
    CHECK(entry->addr == expected[i][0]);
    CHECK(entry->size == expected[i][1]);
    CHECK(entry->type == expected[i][2]);
    CHECK(entry->reserved == 0);
  }
  auto initrd_bytes = memory.slice(GuestAddress{info.initrd_address}, 0x1800);
  REQUIRE(initrd_bytes.has_value());
  const std::vector<uint8_t> initrd_pattern = pattern(0x1800, 4);
  CHECK(std::equal(initrd_bytes->begin(), initrd_bytes->end(), initrd_pattern.begin()));
}

TEST_CASE("PVH: without initrd or RSDP those fields stay zero") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  TempFile kernel(FakeElf{}.bytes());
  const LinuxBootInfo info = load_pvh(memory, request_for(kernel, 8 * kMiB));
  CHECK(info.initrd_size == 0);
  auto start = memory.read_obj<HvmStartInfo>(kStartInfoAddress);
  REQUIRE(start.has_value());
  CHECK(start->nr_modules == 0);
  CHECK(start->modlist_paddr == 0);
  CHECK(start->rsdp_paddr == 0);
}

TEST_CASE("PVH: RAM above 4 GiB is in the memory map") {
  const uint64_t ram = 4 * kGiB;
  GuestMemory memory = make_guest_memory(ram);
  TempFile kernel(FakeElf{}.bytes());
  load_pvh(memory, request_for(kernel, ram));
  auto start = memory.read_obj<HvmStartInfo>(kStartInfoAddress);
  REQUIRE(start.has_value());
  REQUIRE(start->memmap_entries == 4);
  auto high = memory.read_obj<HvmMemmapTableEntry>(
      GuestAddress{start->memmap_paddr + 3 * sizeof(HvmMemmapTableEntry)});
  REQUIRE(high.has_value());
  CHECK(high->addr == 4 * kGiB);
  CHECK(high->size == kGiB);
  CHECK(high->type == 1);
}

TEST_CASE("PVH: load_linux sends an ELF vmlinux to the PVH loader") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  TempFile kernel(FakeElf{}.bytes());
  const LinuxBootInfo info = load_linux(memory, request_for(kernel, 8 * kMiB));
  CHECK(info.protocol == LinuxBootInfo::Protocol::kPvh);
  CHECK(info.entry == GuestAddress{0x100010});
}

TEST_CASE("PVH: the entry note may hold an 8-byte address, as Linux 6.1 writes it") {
  GuestMemory memory = make_guest_memory(8 * kMiB);
  FakeElf fake;
  fake.entry_size = 8;
  fake.entry = 0x100020;
  TempFile kernel(fake.bytes());
  CHECK(load_pvh(memory, request_for(kernel, 8 * kMiB)).entry == GuestAddress{0x100020});
}

TEST_CASE("PVH: ELF errors name the file and the fix") {
  FakeElf fake;
  SECTION("no PVH note") {
    fake.with_note = false;
    CHECK(load_error(fake) ==
          "kernel K is an ELF without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): build it "
          "with CONFIG_PVH or use the bzImage");
  }
  SECTION("a note of the right type from someone else") {
    fake.note_name = "Xyz";
    CHECK_THAT(load_error(fake), Catch::Contains("without a PVH entry note"));
  }
  SECTION("a Xen note of another type") {
    fake.note_type = 17;
    CHECK_THAT(load_error(fake), Catch::Contains("without a PVH entry note"));
  }
  SECTION("32-bit ELF") {
    fake.elf_class = ELFCLASS32;
    CHECK_THAT(load_error(fake), Catch::Contains("is a 32-bit ELF"));
  }
  SECTION("another machine") {
    fake.machine = EM_AARCH64;
    CHECK_THAT(load_error(fake), Catch::Contains("not x86-64"));
  }
  SECTION("not an executable") {
    fake.type = ET_REL;
    CHECK_THAT(load_error(fake), Catch::Contains("not an executable"));
  }
  SECTION("segment past the end of the file") {
    fake.file_size_override = 0x1000;
    fake.memsz = 0x1000;
    CHECK_THAT(load_error(fake),
               Catch::Contains("past its end") && Catch::Contains("the file is truncated"));
  }
  SECTION("segment offset that wraps") {
    fake.offset_override = UINT64_MAX - 8;
    CHECK_THAT(load_error(fake), Catch::Contains("the file is truncated"));
  }
  SECTION("more file bytes than memory bytes") {
    fake.memsz = 16;
    CHECK_THAT(load_error(fake), Catch::Contains("more file bytes than memory bytes"));
  }
  SECTION("segment address that wraps") {
    fake.paddr = UINT64_MAX - 0x100;
    CHECK_THAT(load_error(fake), Catch::Contains("wraps around the address space"));
  }
  SECTION("segment below 1 MiB") {
    fake.paddr = 0x8000;
    fake.entry = 0x8010;
    CHECK_THAT(load_error(fake), Catch::Contains("below 1 MiB"));
  }
  SECTION("entry outside the segments") {
    fake.entry = 0x200000;
    CHECK_THAT(load_error(fake),
               Catch::Contains("PVH entry 0x200000 outside every loaded segment"));
  }
  SECTION("kernel larger than --mem") {
    fake.paddr = 7 * kMiB;
    fake.entry = 7 * kMiB;
    fake.memsz = 2 * kMiB;
    CHECK(load_error(fake) ==
          "kernel K needs guest memory up to 0x900000 (9 MiB) to start; --mem gives 8 MiB: raise --mem");
  }
  SECTION("truncated header") {
    std::vector<uint8_t> bytes = fake.bytes();
    bytes.resize(40);
    GuestMemory memory = make_guest_memory(8 * kMiB);
    TempFile kernel(bytes);
    CHECK_THROWS_WITH(load_pvh(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("is an ELF too small for its own header"));
  }
  SECTION("program headers past the end") {
    std::vector<uint8_t> bytes = fake.bytes();
    bytes.resize(sizeof(Elf64_Ehdr) + 10);
    GuestMemory memory = make_guest_memory(8 * kMiB);
    TempFile kernel(bytes);
    CHECK_THROWS_WITH(load_pvh(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("program headers past its end"));
  }
  SECTION("an entry note of an odd size") {
    fake.entry_size = 2;
    CHECK_THAT(load_error(fake), Catch::Contains("2-byte address"));
  }
  SECTION("malformed note") {
    std::vector<uint8_t> bytes = fake.bytes();
    put(bytes, FakeElf::kNoteOffset, Elf64_Nhdr{4, 0xfffffff0, 1});
    GuestMemory memory = make_guest_memory(8 * kMiB);
    TempFile kernel(bytes);
    CHECK_THROWS_WITH(load_pvh(memory, request_for(kernel, 8 * kMiB)),
                      Catch::Contains("malformed ELF note"));
  }
}

TEST_CASE("PVH: command line and initrd limits") {
  GuestMemory memory = make_guest_memory(2 * kMiB);
  TempFile kernel(FakeElf{}.bytes());
  LinuxBootRequest request = request_for(kernel, 2 * kMiB);

  request.cmdline = KernelCmdline(std::string(kPvhMaxCmdline, 'x'));
  load_pvh(memory, request);
  request.cmdline = KernelCmdline(std::string(kPvhMaxCmdline + 1, 'x'));
  CHECK_THROWS_WITH(load_pvh(memory, request),
                    "--cmdline is 2048 bytes; this kernel accepts at most 2047: shorten it");

  request.cmdline = KernelCmdline("console=ttyS0");
  TempFile initrd(pattern(kMiB, 1));  // The kernel ends at 0x103000: 1 MiB no longer fits.
  request.initrd = initrd.path;
  CHECK_THROWS_WITH(load_pvh(memory, request),
                    "initrd " + initrd.path.string() +
                        " (1 MiB) does not fit in guest memory below 0x200000 above the "
                        "kernel's end at 0x103000: raise --mem");
}

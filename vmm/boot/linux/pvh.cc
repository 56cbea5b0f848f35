#include "vmm/boot/linux/pvh.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "base/util/error.h"
#include "base/util/format.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/linux/cmdline_initrd.h"
#include "vmm/boot/linux/e820.h"
#include "vmm/boot/linux/hvm_start_info.h"

namespace kvmm {

using linux_abi::HvmMemmapTableEntry;
using linux_abi::HvmModlistEntry;
using linux_abi::HvmStartInfo;

// The three PVH structures share the page at kStartInfoAddress.
static_assert(kStartInfoAddress.value + sizeof(HvmStartInfo) <= kPvhMemmapAddress.value);
static_assert(kPvhModlistAddress.value + sizeof(HvmModlistEntry) <=
              kStartInfoAddress.value + 0x1000);

namespace {

// [offset, offset + size) lies inside a file of `file_size` bytes.
bool within_file(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

template <typename T>
T read_file_obj(const ImageFile& file, uint64_t offset) {
  T value{};
  file.read_exact(offset, std::span(reinterpret_cast<uint8_t*>(&value), sizeof value));
  return value;
}

uint64_t align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

// Looks through one PT_NOTE segment's bytes for the Xen PHYS32_ENTRY note
// (ELF gABI "Note Section": namesz, descsz, type, then name and descriptor,
// each padded to the segment's alignment). Every length is file content.
std::optional<uint32_t> find_pvh_entry(std::span<const uint8_t> notes, uint64_t alignment,
                                       const std::string& name) {
  uint64_t pos = 0;
  while (notes.size() - pos >= sizeof(Elf64_Nhdr)) {
    Elf64_Nhdr header;
    std::memcpy(&header, notes.data() + pos, sizeof header);
    // namesz and descsz are 32-bit, so these sums cannot wrap in 64 bits.
    // Padding aligns each field's offset (gABI; with 8-byte alignment, as in
    // .note.gnu.property, the 12-byte header is not a multiple of it).
    const uint64_t name_offset = pos + sizeof header;
    const uint64_t desc_offset = align_up(name_offset + header.n_namesz, alignment);
    const uint64_t next = align_up(desc_offset + header.n_descsz, alignment);
    if (desc_offset + header.n_descsz > notes.size() ||
        name_offset + header.n_namesz > notes.size()) {
      throw Error(name + " has a malformed ELF note at byte " + std::to_string(pos) +
                  " of a PT_NOTE segment: the file is corrupt");
    }
    const bool is_xen = header.n_namesz == sizeof linux_abi::kXenNoteName &&
                        std::memcmp(notes.data() + name_offset, linux_abi::kXenNoteName,
                                    sizeof linux_abi::kXenNoteName) == 0;
    if (is_xen && header.n_type == linux_abi::kXenElfnotePhys32Entry) {
      // The ABI says 32-bit, but Linux writes it as a pointer-sized value
      // (8 bytes on x86-64 in 6.1): accept both, below 4 GiB.
      if (header.n_descsz == sizeof(uint32_t)) {
        uint32_t entry;
        std::memcpy(&entry, notes.data() + desc_offset, sizeof entry);
        return entry;
      }
      if (header.n_descsz == sizeof(uint64_t)) {
        uint64_t entry;
        std::memcpy(&entry, notes.data() + desc_offset, sizeof entry);
        if (entry <= UINT32_MAX) return static_cast<uint32_t>(entry);
      }
      throw Error(name + " has a PVH entry note with a " + std::to_string(header.n_descsz) +
                  "-byte address that is not a 32-bit entry point: the file is corrupt");
    }
    if (next >= notes.size()) break;
    pos = next;
  }
  return std::nullopt;
}

}  // namespace

PvhKernel parse_pvh_elf(const ImageFile& file, const std::filesystem::path& path) {
  const std::string name = "kernel " + path.string();
  if (file.size() < sizeof(Elf64_Ehdr)) {
    throw Error(name + " is an ELF too small for its own header: it is truncated");
  }
  // Everything read from the file is untrusted until checked.
  const auto elf = read_file_obj<Elf64_Ehdr>(file, 0);
  if (std::memcmp(elf.e_ident, ELFMAG, SELFMAG) != 0) {
    throw Error(name + " is not an ELF file: give an ELF vmlinux or a bzImage");
  }
  if (elf.e_ident[EI_CLASS] != ELFCLASS64) {
    throw Error(name + " is a 32-bit ELF: give a 64-bit x86 vmlinux or a bzImage");
  }
  if (elf.e_ident[EI_DATA] != ELFDATA2LSB) {
    throw Error(name + " is a big-endian ELF: give an x86-64 vmlinux");
  }
  if (elf.e_machine != EM_X86_64) {
    throw Error(name + " is an ELF for machine " + std::to_string(elf.e_machine) +
                ", not x86-64: give an x86-64 vmlinux");
  }
  if (elf.e_type != ET_EXEC) {
    throw Error(name + " is an ELF of type " + std::to_string(elf.e_type) +
                ", not an executable: give the vmlinux from the kernel build");
  }
  if (elf.e_phnum == 0 || elf.e_phentsize != sizeof(Elf64_Phdr)) {
    throw Error(name + " has " + std::to_string(elf.e_phnum) + " program headers of " +
                std::to_string(elf.e_phentsize) + " bytes: the file is corrupt");
  }
  const uint64_t table_size = uint64_t{elf.e_phnum} * sizeof(Elf64_Phdr);
  if (!within_file(elf.e_phoff, table_size, file.size())) {
    throw Error(name + " has program headers past its end: the file is truncated");
  }
  std::vector<Elf64_Phdr> headers(elf.e_phnum);
  file.read_exact(elf.e_phoff, std::span(reinterpret_cast<uint8_t*>(headers.data()), table_size));

  PvhKernel kernel;
  kernel.load_start = UINT64_MAX;
  std::optional<uint32_t> entry;
  for (const Elf64_Phdr& header : headers) {
    if (header.p_type == PT_LOAD) {
      if (header.p_filesz > header.p_memsz) {
        throw Error(name +
                    " has a segment with more file bytes than memory bytes: the file is "
                    "corrupt");
      }
      if (!within_file(header.p_offset, header.p_filesz, file.size())) {
        throw Error(name + " has a segment at file offset " + hex(header.p_offset) + " (" +
                    std::to_string(header.p_filesz) + " bytes) past its end (" +
                    std::to_string(file.size()) + " bytes): the file is truncated");
      }
      if (header.p_memsz == 0) continue;
      if (header.p_paddr > UINT64_MAX - header.p_memsz) {
        throw Error(name + " has a segment at " + hex(header.p_paddr) +
                    " that wraps around the address space: the file is corrupt");
      }
      if (header.p_paddr < kHighMemoryStart) {
        throw Error(name + " has a segment at " + hex(header.p_paddr) +
                    ", below 1 MiB where kvmm keeps boot data: give a vmlinux linked at 1 MiB "
                    "or above");
      }
      kernel.segments.push_back({header.p_offset, header.p_filesz, header.p_paddr, header.p_memsz});
      kernel.load_start = std::min(kernel.load_start, header.p_paddr);
      kernel.load_end = std::max(kernel.load_end, header.p_paddr + header.p_memsz);
    } else if (header.p_type == PT_NOTE && !entry) {
      if (!within_file(header.p_offset, header.p_filesz, file.size())) {
        throw Error(name + " has a note segment past its end: the file is truncated");
      }
      if (header.p_filesz > kMaxElfNoteBytes) {
        throw Error(name + " has a note segment of " + std::to_string(header.p_filesz) +
                    " bytes, more than kvmm reads (" + std::to_string(kMaxElfNoteBytes) +
                    "): the file is corrupt");
      }
      std::vector<uint8_t> notes(header.p_filesz);
      file.read_exact(header.p_offset, notes);
      entry = find_pvh_entry(notes, header.p_align == 8 ? 8 : 4, name);
    }
  }
  if (kernel.segments.empty()) {
    throw Error(name + " is an ELF with nothing to load (no PT_LOAD segment): give vmlinux");
  }
  if (!entry) {
    throw Error(name +
                " is an ELF without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): build "
                "it with CONFIG_PVH or use the bzImage");
  }
  const bool entry_loaded = std::any_of(
      kernel.segments.begin(), kernel.segments.end(), [&](const ElfLoadSegment& segment) {
        return *entry >= segment.physical_address &&
               *entry - segment.physical_address < segment.memory_size;
      });
  if (!entry_loaded) {
    throw Error(name + " has its PVH entry " + hex(*entry) +
                " outside every loaded segment: the file is corrupt");
  }
  kernel.entry = *entry;
  return kernel;
}

LinuxBootInfo load_pvh(const GuestMemory& memory, const LinuxBootRequest& request) {
  const ImageFile file = ImageFile::open(request.kernel, "kernel");
  return load_pvh_file(memory, request, file, request.kernel, PvhBootLimits{});
}

LinuxBootInfo load_pvh_file(const GuestMemory& memory, const LinuxBootRequest& request,
                            const ImageFile& file, const std::filesystem::path& path,
                            const PvhBootLimits& limits) {
  const std::string name = "kernel " + path.string();
  const PvhKernel kernel = parse_pvh_elf(file, path);
  const uint64_t kernel_end = std::max(kernel.load_end, limits.kernel_end);

  require_kernel_fits(name, kernel_end, request.ram_bytes);
  const uint64_t low_end = low_ram_end(request.ram_bytes);
  for (const ElfLoadSegment& segment : kernel.segments) {
    auto target = memory.slice(GuestAddress{segment.physical_address}, segment.memory_size);
    if (!target) {
      throw Error(name + " segment at " + hex(segment.physical_address) +
                  " is not in guest memory: raise --mem");
    }
    file.read_exact(segment.file_offset, target->first(segment.file_size));
    // The part past the file bytes is .bss: the kernel expects zeros.
    std::fill(target->begin() + static_cast<std::ptrdiff_t>(segment.file_size), target->end(), 0);
  }

  write_cmdline(memory, request.cmdline, std::min(limits.max_cmdline, kPvhMaxCmdline));

  LinuxBootInfo info;
  info.protocol = LinuxBootInfo::Protocol::kPvh;
  info.entry = GuestAddress{kernel.entry};
  info.boot_data = kStartInfoAddress;
  info.kernel_load = kernel.load_start;
  info.kernel_end = kernel_end;

  BootDataPlacement placement;
  placement.ram_bytes = request.ram_bytes;
  placement.acpi_rsdp = request.acpi_rsdp;
  if (request.initrd) {
    placement.initrd = load_initrd(memory, *request.initrd, kernel_end,
                                   std::min(limits.initrd_end_limit, low_end));
    info.initrd_address = placement.initrd.address;
    info.initrd_size = placement.initrd.size;
  }
  write_start_info(memory, placement);
  return info;
}

void write_start_info(const GuestMemory& memory, const BootDataPlacement& placement) {
  HvmStartInfo start{};
  start.magic = linux_abi::kHvmStartMagic;
  start.version = linux_abi::kHvmStartInfoVersion;
  start.cmdline_paddr = kCmdlineAddress.value;
  if (placement.acpi_rsdp) start.rsdp_paddr = placement.acpi_rsdp->value;

  if (placement.initrd.size != 0) {
    const HvmModlistEntry module{placement.initrd.address, placement.initrd.size, 0, 0};
    if (!memory.write_obj(kPvhModlistAddress, module)) {
      throw Error("guest memory has no room for the PVH module list at " +
                  hex(kPvhModlistAddress.value) + ": raise --mem");
    }
    start.nr_modules = 1;
    start.modlist_paddr = kPvhModlistAddress.value;
  }

  const std::vector<E820Range> map = build_e820_map(placement.ram_bytes);
  constexpr uint64_t kMemmapCapacity =
      (kPvhModlistAddress.value - kPvhMemmapAddress.value) / sizeof(HvmMemmapTableEntry);
  if (map.size() > kMemmapCapacity) {
    throw Error("the guest memory map has " + std::to_string(map.size()) +
                " ranges; the PVH start page holds " + std::to_string(kMemmapCapacity) +
                ": this is a kvmm bug");
  }
  for (size_t i = 0; i < map.size(); ++i) {
    const HvmMemmapTableEntry entry{map[i].address, map[i].size, static_cast<uint32_t>(map[i].type),
                                    0};
    if (!memory.write_obj(GuestAddress{kPvhMemmapAddress.value + i * sizeof entry}, entry)) {
      throw Error("guest memory has no room for the PVH memory map at " +
                  hex(kPvhMemmapAddress.value) + ": raise --mem");
    }
  }
  start.memmap_paddr = kPvhMemmapAddress.value;
  start.memmap_entries = static_cast<uint32_t>(map.size());

  if (!memory.write_obj(kStartInfoAddress, start)) {
    throw Error("guest memory has no room for the PVH start_info at " +
                hex(kStartInfoAddress.value) + ": raise --mem");
  }
}

}  // namespace kvmm

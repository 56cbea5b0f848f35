#include "vmm/boot/multiboot/multiboot.h"

#include <elf.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <span>

#include "base/util/error.h"
#include "base/util/format.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/linux/cmdline_initrd.h"
#include "vmm/boot/linux/e820.h"

namespace kvmm {

namespace abi = multiboot_abi;

namespace {

constexpr uint64_t kPageSize = 0x1000;

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

uint64_t saturating_add(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

// §3.1.2: a loader must refuse a required feature (bits 0-15) it does not
// provide. Bit 0 (modules page-aligned) and bit 1 (memory information) are
// always met; optional bits (17-31) are ignored.
void check_header_flags(const std::string& name, uint32_t flags) {
  if ((flags & abi::kHeaderAoutKludge) != 0) {
    throw Error(name +
                " asks for the a.out address fields (flag 16), which kvmm does not load: "
                "link it as ELF");
  }
  if ((flags & abi::kHeaderVideoMode) != 0) {
    throw Error(name +
                " asks for a video mode (flag 2), which kvmm does not set: clear the flag, "
                "kvmm's console is the serial port");
  }
  const uint32_t unknown =
      flags & abi::kHeaderRequiredMask & ~(abi::kHeaderPageAlignModules | abi::kHeaderMemoryInfo);
  if (unknown != 0) {
    throw Error(name + " requires Multiboot header flag " +
                std::to_string(std::countr_zero(unknown)) +
                ", which kvmm does not know: build it without that flag");
  }
}

// Refuses a segment over kvmm's low-memory data: the GDT page, and the
// legacy hole where the ACPI and MP tables live and the memory map says
// reserved.
void check_segment_placement(const std::string& name, uint64_t start, uint64_t end) {
  if (start < kMultibootLowestLoad) {
    throw Error(name + " has a segment at " + hex(start) +
                ", in the first page where kvmm keeps its GDT (" + hex(kGdtAddress.value) +
                "): link it at " + hex(kMultibootLowestLoad) + " or above");
  }
  if (start < kHighMemoryStart && end > kEbdaStart) {
    throw Error(name + " has a segment [" + hex(start) + ", " + hex(end) +
                ") in the legacy hole [" + hex(kEbdaStart) + ", " + hex(kHighMemoryStart) +
                ") where kvmm keeps the ACPI and MP tables: link it below " + hex(kEbdaStart) +
                " or at 1 MiB or above");
  }
}

// Where each part of the boot information sits, from the page after the
// kernel: Info, memory map, module list, module name, command line.
struct InfoLayout {
  uint64_t info = 0;
  uint64_t mmap = 0;
  uint64_t modules = 0;
  uint64_t module_name = 0;
  uint64_t cmdline = 0;
  uint64_t end = 0;
};

InfoLayout plan_info(uint64_t kernel_end, size_t mmap_entries, const std::string& module_name,
                     bool with_module, const std::string& cmdline) {
  InfoLayout layout;
  layout.info = align_up(kernel_end, kPageSize);
  layout.mmap = layout.info + sizeof(abi::Info);
  layout.modules = layout.mmap + mmap_entries * sizeof(abi::MmapEntry);
  layout.module_name = layout.modules + sizeof(abi::Module);
  layout.cmdline = with_module ? layout.module_name + module_name.size() + 1 : layout.module_name;
  layout.end = saturating_add(layout.cmdline, saturating_add(cmdline.size(), 1));
  return layout;
}

void write_string(const GuestMemory& memory, uint64_t address, const std::string& text) {
  auto target = memory.slice(GuestAddress{address}, text.size() + 1);
  if (!target) {
    throw Error("guest memory has no room for the multiboot string at " + hex(address) +
                ": raise --mem");
  }
  std::memcpy(target->data(), text.data(), text.size());
  (*target)[text.size()] = 0;
}

template <typename T>
void write_info_obj(const GuestMemory& memory, uint64_t address, const T& value) {
  if (!memory.write_obj(GuestAddress{address}, value)) {
    throw Error("guest memory has no room for the multiboot information at " + hex(address) +
                ": raise --mem");
  }
}

}  // namespace

std::optional<MultibootHeaderLocation> find_multiboot_header(const ImageFile& file) {
  std::array<uint8_t, abi::kHeaderSearchBytes> head{};
  const uint64_t length = std::min<uint64_t>(file.size(), head.size());
  file.read_exact(0, std::span(head).first(length));
  for (uint64_t offset = 0; offset + sizeof(abi::Header) <= length;
       offset += abi::kHeaderAlignment) {
    abi::Header header;
    std::memcpy(&header, head.data() + offset, sizeof header);
    if (header.magic == abi::kHeaderMagic &&
        static_cast<uint32_t>(header.magic + header.flags + header.checksum) == 0) {
      return MultibootHeaderLocation{offset, header.flags};
    }
  }
  return std::nullopt;
}

bool has_multiboot_header(const ImageFile& file) { return find_multiboot_header(file).has_value(); }

MultibootKernel parse_multiboot_kernel(const ImageFile& file, const std::filesystem::path& path) {
  const std::string name = "multiboot kernel " + path.string();
  const auto header = find_multiboot_header(file);
  if (!header) {
    throw Error(name + " has no Multiboot header (magic " + hex(abi::kHeaderMagic) +
                " with a valid checksum in its first 8192 bytes): give a Multiboot kernel");
  }
  check_header_flags(name, header->flags);

  // Without flag 16 the ELF program headers say where everything goes (§3.1.3).
  if (file.size() < sizeof(Elf32_Ehdr)) {
    throw Error(name + " is too small for an ELF header: it is truncated or not ELF");
  }
  const auto elf = read_file_obj<Elf32_Ehdr>(file, 0);
  if (std::memcmp(elf.e_ident, ELFMAG, SELFMAG) != 0) {
    throw Error(name + " is not an ELF file: link it as ELF32");
  }
  if (elf.e_ident[EI_CLASS] != ELFCLASS32) {
    throw Error(name +
                " is not a 32-bit ELF: Multiboot v1 loads ELF32, convert it with objcopy "
                "-O elf32-i386");
  }
  if (elf.e_ident[EI_DATA] != ELFDATA2LSB) {
    throw Error(name + " is a big-endian ELF: give an x86 kernel");
  }
  if (elf.e_machine != EM_386 && elf.e_machine != EM_X86_64) {
    throw Error(name + " is an ELF for machine " + std::to_string(elf.e_machine) +
                ", not x86: give an x86 kernel");
  }
  if (elf.e_type != ET_EXEC) {
    throw Error(name + " is an ELF of type " + std::to_string(elf.e_type) +
                ", not an executable: give the linked kernel");
  }
  if (elf.e_phnum == 0 || elf.e_phentsize != sizeof(Elf32_Phdr)) {
    throw Error(name + " has " + std::to_string(elf.e_phnum) + " program headers of " +
                std::to_string(elf.e_phentsize) + " bytes: the file is corrupt");
  }
  const uint64_t table_size = uint64_t{elf.e_phnum} * sizeof(Elf32_Phdr);
  if (!within_file(elf.e_phoff, table_size, file.size())) {
    throw Error(name + " has program headers past its end: the file is truncated");
  }
  std::vector<Elf32_Phdr> headers(elf.e_phnum);
  file.read_exact(elf.e_phoff, std::span(reinterpret_cast<uint8_t*>(headers.data()), table_size));

  MultibootKernel kernel;
  for (const Elf32_Phdr& program : headers) {
    if (program.p_type != PT_LOAD) continue;
    if (program.p_filesz > program.p_memsz) {
      throw Error(name +
                  " has a segment with more file bytes than memory bytes: the file is corrupt");
    }
    if (!within_file(program.p_offset, program.p_filesz, file.size())) {
      throw Error(name + " has a segment at file offset " + hex(program.p_offset) + " (" +
                  std::to_string(program.p_filesz) + " bytes) past its end (" +
                  std::to_string(file.size()) + " bytes): the file is truncated");
    }
    if (program.p_memsz == 0) continue;
    // 32-bit fields: the 64-bit sum cannot wrap.
    const uint64_t start = program.p_paddr;
    const uint64_t end = start + program.p_memsz;
    check_segment_placement(name, start, end);
    kernel.segments.push_back({program.p_offset, program.p_filesz, start, program.p_memsz});
  }
  if (kernel.segments.empty()) {
    throw Error(name + " is an ELF with nothing to load (no PT_LOAD segment): the file is corrupt");
  }
  std::sort(kernel.segments.begin(), kernel.segments.end(),
            [](const ElfLoadSegment& a, const ElfLoadSegment& b) {
              return a.physical_address < b.physical_address;
            });
  for (size_t i = 1; i < kernel.segments.size(); ++i) {
    const ElfLoadSegment& previous = kernel.segments[i - 1];
    const ElfLoadSegment& current = kernel.segments[i];
    if (previous.physical_address + previous.memory_size > current.physical_address) {
      throw Error(name + " has segments at " + hex(previous.physical_address) + " (" +
                  std::to_string(previous.memory_size) + " bytes) and " +
                  hex(current.physical_address) + " that overlap: the file is corrupt");
    }
  }
  kernel.load_start = kernel.segments.front().physical_address;
  for (const ElfLoadSegment& segment : kernel.segments) {
    kernel.load_end = std::max(kernel.load_end, segment.physical_address + segment.memory_size);
  }
  const bool entry_loaded = std::any_of(
      kernel.segments.begin(), kernel.segments.end(), [&](const ElfLoadSegment& segment) {
        return elf.e_entry >= segment.physical_address &&
               elf.e_entry - segment.physical_address < segment.memory_size;
      });
  if (!entry_loaded) {
    throw Error(name + " has its entry " + hex(elf.e_entry) +
                " outside every loaded segment: the file is corrupt");
  }
  kernel.entry = elf.e_entry;
  return kernel;
}

MultibootBootInfo load_multiboot(const GuestMemory& memory, const MultibootRequest& request) {
  const std::string name = "multiboot kernel " + request.kernel.string();
  ImageFile file = ImageFile::open(request.kernel, "multiboot kernel");
  const MultibootKernel kernel = parse_multiboot_kernel(file, request.kernel);

  if (request.cmdline.find('\0') != std::string::npos) {
    throw Error(
        "the multiboot command line holds a NUL byte, which would end it early: "
        "remove it");
  }
  require_kernel_fits(name, kernel.load_end, request.ram_bytes);
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

  const std::string cmdline = request.cmdline.empty()
                                  ? request.kernel.string()
                                  : request.kernel.string() + " " + request.cmdline;
  const std::string module_name = request.module ? request.module->string() : std::string();
  const std::vector<E820Range> map = build_e820_map(request.ram_bytes);
  const InfoLayout layout =
      plan_info(kernel.load_end, map.size(), module_name, request.module.has_value(), cmdline);
  require_kernel_fits("the multiboot information after " + name, layout.end, request.ram_bytes);

  MultibootBootInfo boot;
  boot.entry = GuestAddress{kernel.entry};
  boot.info = GuestAddress{layout.info};
  boot.load_start = kernel.load_start;
  boot.load_end = kernel.load_end;

  abi::Module module{};
  if (request.module) {
    ImageFile module_file = ImageFile::open(*request.module, "multiboot module");
    // Always page-aligned, which meets header flag 0 whether or not it is set.
    const uint64_t address = align_up(layout.end, kPageSize);
    require_kernel_fits("multiboot module " + module_name,
                        saturating_add(address, module_file.size()), request.ram_bytes);
    auto target = memory.slice(GuestAddress{address}, module_file.size());
    if (!target) {
      throw Error("multiboot module " + module_name + " at " + hex(address) +
                  " is not in guest memory: raise --mem");
    }
    module_file.read_exact(0, *target);
    boot.module_address = address;
    boot.module_size = module_file.size();
    // Below the MMIO hole, so every address fits in 32 bits.
    module.mod_start = static_cast<uint32_t>(address);
    module.mod_end = static_cast<uint32_t>(address + module_file.size());
    module.string = static_cast<uint32_t>(layout.module_name);
    write_string(memory, layout.module_name, module_name);
  }
  write_info_obj(memory, layout.modules, module);
  write_string(memory, layout.cmdline, cmdline);
  for (size_t i = 0; i < map.size(); ++i) {
    const abi::MmapEntry entry{abi::kMmapEntrySize, map[i].address, map[i].size,
                               static_cast<uint32_t>(map[i].type)};
    write_info_obj(memory, layout.mmap + i * sizeof entry, entry);
  }

  const uint64_t low_end = low_ram_end(request.ram_bytes);
  abi::Info info{};
  info.flags = abi::kInfoMemory | abi::kInfoCmdline | abi::kInfoMods | abi::kInfoMmap;
  // §3.3: mem_lower is the RAM below the legacy hole, mem_upper the RAM from
  // 1 MiB to the first hole (the MMIO hole, or the end of RAM).
  info.mem_lower = static_cast<uint32_t>(std::min(low_end, kEbdaStart) / 1024);
  info.mem_upper =
      static_cast<uint32_t>(low_end > kHighMemoryStart ? (low_end - kHighMemoryStart) / 1024 : 0);
  info.cmdline = static_cast<uint32_t>(layout.cmdline);
  info.mods_count = request.module ? 1 : 0;
  info.mods_addr = static_cast<uint32_t>(layout.modules);
  info.mmap_length = static_cast<uint32_t>(map.size() * sizeof(abi::MmapEntry));
  info.mmap_addr = static_cast<uint32_t>(layout.mmap);
  write_info_obj(memory, layout.info, info);
  return boot;
}

}  // namespace kvmm

#include "vmm/cpu/cpu_mode.h"

#include "base/util/error.h"

namespace kvmm {

namespace {

// Control register and EFER bits (Intel SDM vol. 3A §2.5, §2.2.1).
constexpr uint64_t kCr0Pe = 1ULL << 0;
constexpr uint64_t kCr0Et = 1ULL << 4;
constexpr uint64_t kCr0Ne = 1ULL << 5;
constexpr uint64_t kCr0Pg = 1ULL << 31;
constexpr uint64_t kCr4Pae = 1ULL << 5;
constexpr uint64_t kEferLme = 1ULL << 8;
constexpr uint64_t kEferLma = 1ULL << 10;

// Page-table entry bits (SDM §4.5).
constexpr uint64_t kPtePresent = 1ULL << 0;
constexpr uint64_t kPteWritable = 1ULL << 1;
constexpr uint64_t kPteLargePage = 1ULL << 7;

void must_write(const GuestMemory& memory, GuestAddress gpa, uint64_t value) {
  if (!memory.write_obj(gpa, value)) {
    throw Error("guest memory has no room for boot tables at " + std::to_string(gpa.value) +
                ": raise --mem");
  }
}

}  // namespace

kvm_segment flat_segment(uint16_t selector, CpuMode mode, bool is_code) {
  const bool long_code = is_code && mode == CpuMode::kLong;
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = is_code ? 0xb : 0x3;  // Execute/read accessed; read/write accessed.
  s.present = 1;
  s.dpl = 0;
  s.s = 1;
  s.g = 1;
  s.l = long_code ? 1 : 0;
  s.db = long_code ? 0 : 1;  // D must be 0 when L is 1 (SDM §5.2.1).
  return s;
}

void set_long_mode_control_registers(kvm_sregs& sregs) {
  sregs.cr0 = kCr0Pe | kCr0Et | kCr0Ne | kCr0Pg;
  sregs.cr3 = kPml4Address.value;
  sregs.cr4 = kCr4Pae;
  sregs.efer = kEferLme | kEferLma;
}

uint16_t write_gdt(const GuestMemory& memory, std::span<const uint64_t> descriptors) {
  for (size_t i = 0; i < descriptors.size(); ++i) {
    must_write(memory, GuestAddress{kGdtAddress.value + i * 8}, descriptors[i]);
  }
  return static_cast<uint16_t>(descriptors.size() * 8 - 1);
}

void write_identity_page_tables(const GuestMemory& memory) {
  constexpr uint64_t kTable = kPtePresent | kPteWritable;
  must_write(memory, kPml4Address, kPdptAddress.value | kTable);
  for (uint64_t gib = 0; gib < 4; ++gib) {
    const uint64_t directory = kPageDirectoryAddress.value + gib * 0x1000;
    must_write(memory, GuestAddress{kPdptAddress.value + gib * 8}, directory | kTable);
    for (uint64_t entry = 0; entry < 512; ++entry) {
      const uint64_t frame = (gib << 30) + (entry << 21);
      must_write(memory, GuestAddress{directory + entry * 8}, frame | kTable | kPteLargePage);
    }
  }
}

std::optional<CpuMode> parse_cpu_mode(std::string_view name) {
  if (name == "real") return CpuMode::kReal;
  if (name == "protected") return CpuMode::kProtected;
  if (name == "long") return CpuMode::kLong;
  return std::nullopt;
}

std::string_view cpu_mode_name(CpuMode mode) {
  switch (mode) {
    case CpuMode::kReal: return "real";
    case CpuMode::kProtected: return "protected";
    case CpuMode::kLong: return "long";
  }
  return "?";
}

void write_mode_tables(const GuestMemory& memory, CpuMode mode) {
  if (mode == CpuMode::kReal) return;
  const uint64_t gdt[] = {0, mode == CpuMode::kLong ? kGdtCode64 : kGdtCode32, kGdtData};
  write_gdt(memory, gdt);
  if (mode == CpuMode::kLong) write_identity_page_tables(memory);
}

void set_entry_state(CpuMode mode, GuestAddress entry, GuestAddress stack_top, kvm_sregs& sregs,
                     kvm_regs& regs) {
  regs = kvm_regs{};
  regs.rflags = 0x2;  // Bit 1 is reserved and must be set.
  regs.rip = entry.value;
  regs.rsp = stack_top.value;

  if (mode == CpuMode::kReal) {
    // Reset state has CS base 0xffff0000; flat guests start at 0000:entry.
    for (kvm_segment* s : {&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
      s->base = 0;
      s->selector = 0;
    }
    regs.rsp = entry.value;  // Stack grows down below the image, inside segment 0.
    return;
  }

  sregs.gdt.base = kGdtAddress.value;
  sregs.gdt.limit = 3 * 8 - 1;
  sregs.cs = flat_segment(kCodeSelector, mode, true);
  const kvm_segment data = flat_segment(kDataSelector, mode, false);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
  sregs.cr0 = kCr0Pe | kCr0Et | kCr0Ne;
  if (mode == CpuMode::kLong) set_long_mode_control_registers(sregs);
}

}  // namespace kvmm

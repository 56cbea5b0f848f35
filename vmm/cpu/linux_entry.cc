#include "vmm/cpu/linux_entry.h"

#include "vmm/cpu/cpu_mode.h"

namespace kvmm {

namespace {
constexpr uint16_t kBootCs = 0x10;
constexpr uint16_t kBootDs = 0x18;
constexpr uint64_t kRflagsReserved = 0x2;
}  // namespace

void set_linux64_entry(const GuestMemory& memory, GuestAddress entry, GuestAddress zero_page,
                       kvm_sregs& sregs, kvm_regs& regs) {
  const uint64_t gdt[] = {0, 0, kGdtCode64, kGdtData};
  sregs.gdt.base = kGdtAddress.value;
  sregs.gdt.limit = write_gdt(memory, gdt);
  write_identity_page_tables(memory);
  sregs.cs = flat_segment(kBootCs, CpuMode::kLong, true);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
      flat_segment(kBootDs, CpuMode::kLong, false);
  set_long_mode_control_registers(sregs);
  regs = kvm_regs{};
  regs.rflags = kRflagsReserved;  // IF clear: interrupts off.
  regs.rip = entry.value;
  regs.rsi = zero_page.value;
}

void set_pvh_entry(const GuestMemory& memory, GuestAddress entry, GuestAddress start_info,
                   kvm_sregs& sregs, kvm_regs& regs) {
  write_mode_tables(memory, CpuMode::kProtected);
  set_entry_state(CpuMode::kProtected, entry, GuestAddress{0}, sregs, regs);
  regs.rsp = 0;  // PVH defines no stack; the kernel sets up its own.
  regs.rbx = start_info.value;
}

void set_multiboot_entry(const GuestMemory& memory, GuestAddress entry, GuestAddress info,
                         uint32_t magic, kvm_sregs& sregs, kvm_regs& regs) {
  set_pvh_entry(memory, entry, info, sregs, regs);
  regs.rax = magic;
}

}  // namespace kvmm

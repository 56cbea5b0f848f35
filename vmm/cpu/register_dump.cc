#include "vmm/cpu/register_dump.h"

#include <cstdio>

namespace kvmm {

std::string format_registers(const kvm_regs& r, const kvm_sregs& s) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "rip=%016llx rsp=%016llx rflags=%016llx\n"
                "rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
                "rsi=%016llx rdi=%016llx rbp=%016llx\n"
                "cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\n"
                "cs=%04x base=%016llx l=%u db=%u  ss=%04x  gdt=%016llx/%04x",
                r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, s.cr0,
                s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.base, s.cs.l, s.cs.db,
                s.ss.selector, s.gdt.base, s.gdt.limit);
  std::string text = buf;
  if (is_reset_state(r, s)) {
    text += "\n(these are the x86 reset values: KVM on AMD resets a vCPU that shut down before "
            "reporting it, so its state at the fault is not known)";
  }
  return text;
}

bool is_reset_state(const kvm_regs& r, const kvm_sregs& s) {
  // What INIT or RESET leaves (SDM vol. 3 table 9-1, APM vol. 2 table 14-1).
  return r.rip == 0xfff0 && s.cs.selector == 0xf000 && s.cs.base == 0xffff0000 &&
         (s.cr0 & 1) == 0;
}

}  // namespace kvmm

#include "vmm/cpu/register_dump.h"

#include <catch2/catch.hpp>

using namespace kvmm;

TEST_CASE("A crash's registers in the x86 reset state say the state at the fault is lost") {
  kvm_regs regs{};
  kvm_sregs sregs{};
  regs.rip = 0xfff0;
  regs.rdx = 0x800f12;
  sregs.cs.selector = 0xf000;
  sregs.cs.base = 0xffff0000;
  sregs.cr0 = 0x10;
  CHECK(is_reset_state(regs, sregs));
  const std::string text = format_registers(regs, sregs);
  CHECK(text.find("rip=000000000000fff0") != std::string::npos);
  CHECK(text.find("resets a vCPU that shut down") != std::string::npos);

  // A long-mode guest's registers are its own.
  regs.rip = 0xffffffff81000000;
  sregs.cs.selector = 0x10;
  sregs.cs.base = 0;
  sregs.cr0 = 0x80050033;
  CHECK_FALSE(is_reset_state(regs, sregs));
  CHECK(format_registers(regs, sregs).find("reset") == std::string::npos);
}

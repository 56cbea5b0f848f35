#include "vmm/cpu/cpu_mode.h"

#include <catch2/catch.hpp>

using namespace kvmm;

TEST_CASE("long-mode tables identity-map the first 4 GiB with 2 MiB pages") {
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, 0x100000);
  write_mode_tables(memory, CpuMode::kLong);
  CHECK(memory.read_obj<uint64_t>(kPml4Address) == (kPdptAddress.value | 3));
  for (uint64_t gib = 0; gib < 4; ++gib) {
    const uint64_t pd = kPageDirectoryAddress.value + gib * 0x1000;
    CHECK(memory.read_obj<uint64_t>(GuestAddress{kPdptAddress.value + gib * 8}) == (pd | 3));
    // Spot-check first and last entries of each directory.
    CHECK(memory.read_obj<uint64_t>(GuestAddress{pd}) == ((gib << 30) | 0x83));
    CHECK(memory.read_obj<uint64_t>(GuestAddress{pd + 511 * 8}) ==
          (((gib << 30) + (511ULL << 21)) | 0x83));
  }
  // The tables end below the load address, so they never overlap the image.
  CHECK(kPageDirectoryAddress.value + 4 * 0x1000 <= kFlatLoadAddress.value);
}

TEST_CASE("real mode writes no tables and starts at 0000:8000") {
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, 0x10000);
  write_mode_tables(memory, CpuMode::kReal);
  CHECK(memory.read_obj<uint64_t>(kGdtAddress) == 0);
  CHECK(memory.read_obj<uint64_t>(kPml4Address) == 0);

  kvm_sregs sregs{};
  sregs.cs.base = 0xffff0000;
  sregs.cs.selector = 0xf000;
  kvm_regs regs{};
  set_entry_state(CpuMode::kReal, kFlatLoadAddress, GuestAddress{0x100000}, sregs, regs);
  CHECK(sregs.cs.base == 0);
  CHECK(sregs.cs.selector == 0);
  CHECK(regs.rip == 0x8000);
  CHECK(regs.rflags == 2);
  CHECK(sregs.cr0 == 0);  // Untouched: still real mode.
}

TEST_CASE("protected and long mode entry states") {
  kvm_sregs sregs{};
  kvm_regs regs{};
  set_entry_state(CpuMode::kProtected, kFlatLoadAddress, GuestAddress{0x100000}, sregs, regs);
  CHECK((sregs.cr0 & 1) == 1);
  CHECK((sregs.cr0 & (1ULL << 31)) == 0);
  CHECK(sregs.cs.db == 1);
  CHECK(sregs.cs.l == 0);
  CHECK(sregs.efer == 0);
  CHECK(regs.rsp == 0x100000);

  set_entry_state(CpuMode::kLong, kFlatLoadAddress, GuestAddress{0x100000}, sregs, regs);
  CHECK((sregs.cr0 & (1ULL << 31)) != 0);
  CHECK(sregs.cr3 == kPml4Address.value);
  CHECK((sregs.cr4 & (1 << 5)) != 0);
  CHECK(sregs.efer == 0x500);
  CHECK(sregs.cs.l == 1);
  CHECK(sregs.cs.db == 0);
  CHECK(sregs.ss.selector == kDataSelector);
}

TEST_CASE("CPU mode names round-trip") {
  for (CpuMode mode : {CpuMode::kReal, CpuMode::kProtected, CpuMode::kLong}) {
    CHECK(parse_cpu_mode(cpu_mode_name(mode)) == mode);
  }
  CHECK_FALSE(parse_cpu_mode("smm").has_value());
}

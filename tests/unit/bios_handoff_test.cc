#include "vmm/boot/multiboot/bios_handoff.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "base/util/error.h"
#include "tests/support/test_files.h"

using namespace kvmm;

namespace {

// The handler a real-mode vector points at: its bytes up to the IRET.
std::vector<uint8_t> handler_of(const GuestMemory& memory, unsigned vector) {
  const auto offset = memory.read_obj<uint16_t>(GuestAddress{vector * 4u});
  const auto segment = memory.read_obj<uint16_t>(GuestAddress{vector * 4u + 2});
  REQUIRE(offset);
  REQUIRE(segment);
  std::vector<uint8_t> code;
  for (uint64_t at = (uint64_t{*segment} << 4) + *offset;; ++at) {
    const auto byte = memory.read_obj<uint8_t>(GuestAddress{at});
    REQUIRE(byte);
    code.push_back(*byte);
    if (*byte == 0xcf || code.size() > 32) break;  // iret
  }
  return code;
}

}  // namespace

TEST_CASE("the BIOS interrupt table sends each 8259 vector to an EOI and IRET") {
  GuestMemory memory = testing::first_mib();
  write_bios_interrupt_table(memory);
  const std::vector<uint8_t> iret{0xcf};
  const std::vector<uint8_t> master{0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf};
  const std::vector<uint8_t> slave{0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf};
  for (unsigned vector = 0; vector < kRealModeVectors; ++vector) {
    INFO("vector " << vector);
    if (vector >= 0x08 && vector <= 0x0f) {
      CHECK(handler_of(memory, vector) == master);
    } else if (vector >= 0x70 && vector <= 0x77) {
      CHECK(handler_of(memory, vector) == slave);
    } else {
      CHECK(handler_of(memory, vector) == iret);
    }
  }
}

TEST_CASE("the BIOS interrupt table needs memory under its handlers") {
  GuestMemory small;
  small.add_region(GuestAddress{0}, 0x80000);
  CHECK_THROWS_WITH(write_bios_interrupt_table(small), Catch::Contains("raise --mem"));
}

TEST_CASE("the BIOS data area gives COM1, the EBDA segment and 639 KiB of base memory") {
  GuestMemory memory = testing::first_mib();
  write_bios_data_area(memory);
  CHECK(memory.read_obj<uint16_t>(GuestAddress{0x400}) == uint16_t{0x3f8});
  CHECK(memory.read_obj<uint16_t>(GuestAddress{0x40e}) == uint16_t{0x9fc0});
  CHECK(memory.read_obj<uint16_t>(GuestAddress{0x413}) == uint16_t{639});
  GuestMemory none;
  none.add_region(GuestAddress{0x100000}, 0x100000);
  CHECK_THROWS_WITH(write_bios_data_area(none), Catch::Contains("raise --mem"));
}

TEST_CASE("the 8259s are left at the BIOS's vector bases with the tick unmasked") {
  kvm_pic_state master{};
  master.elcr_mask = 0xf8;
  master.irq_base = 0;
  master.init_state = 1;
  master.isr = 0x01;
  set_bios_pic_state(master, true);
  CHECK(master.irq_base == 0x08);
  CHECK((master.imr & 0x01) == 0);  // IRQ 0, the tick.
  CHECK((master.imr & 0x04) == 0);  // IRQ 2, the slave.
  CHECK((master.imr & 0xfa) == 0xfa);
  CHECK(master.init_state == 0);
  CHECK(master.init4 == 1);
  CHECK(master.isr == 0);
  CHECK(master.elcr_mask == 0xf8);

  kvm_pic_state slave{};
  slave.elcr_mask = 0xde;
  set_bios_pic_state(slave, false);
  CHECK(slave.irq_base == 0x70);
  CHECK(slave.imr == 0xff);
  CHECK(slave.elcr_mask == 0xde);
}

TEST_CASE("the PIT's channel 0 ticks at 18.2 Hz as the BIOS leaves it") {
  kvm_pit_state2 pit{};
  pit.channels[1].count = 18;
  set_bios_pit_state(pit);
  CHECK(pit.channels[0].count == 65536);
  CHECK(pit.channels[0].mode == 3);
  CHECK(pit.channels[0].gate == 1);
  CHECK(pit.channels[1].count == 18);  // The others stay as they were.
}

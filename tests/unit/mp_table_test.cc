#include "vmm/boot/acpi/mp_table.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "base/util/error.h"
#include "tests/support/test_files.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {




uint8_t sum(const Bytes& bytes) {
  uint8_t total = 0;
  for (uint8_t byte : bytes) total = static_cast<uint8_t>(total + byte);
  return total;
}

struct MpTable {
  Bytes pointer;
  Bytes table;
  std::vector<Bytes> entries;
};

// Finds the table as a guest does: the floating pointer, then the
// configuration table, then its entries (20 bytes for processors, 8 otherwise).
MpTable read_mp_table(const GuestMemory& memory, uint64_t base) {
  MpTable mp;
  mp.pointer = read_bytes(memory, base, 16);
  const Bytes header = read_bytes(memory, field<uint32_t>(mp.pointer, 4), 44);
  mp.table = read_bytes(memory, field<uint32_t>(mp.pointer, 4), field<uint16_t>(header, 4));
  for (size_t offset = 44; offset < mp.table.size();) {
    const size_t length = mp.table[offset] == 0 ? 20 : 8;
    REQUIRE(offset + length <= mp.table.size());
    mp.entries.emplace_back(mp.table.begin() + offset, mp.table.begin() + offset + length);
    offset += length;
  }
  return mp;
}

}  // namespace

TEST_CASE("The MP floating pointer is checksummed and points right after itself") {
  GuestMemory memory = first_mib();
  write_mp_table(memory, 2);
  const MpTable mp = read_mp_table(memory, 0xf0000);
  CHECK(std::string(mp.pointer.begin(), mp.pointer.begin() + 4) == "_MP_");
  CHECK(sum(mp.pointer) == 0);
  CHECK(field<uint32_t>(mp.pointer, 4) == 0xf0010);
  CHECK(mp.pointer[8] == 1);   // One 16-byte paragraph.
  CHECK(mp.pointer[9] == 4);   // MP spec 1.4.
  CHECK(mp.pointer[11] == 0);  // The configuration table is present.
  CHECK(mp.pointer[12] == 0);  // Virtual wire mode: no IMCR.
}

TEST_CASE("The MP configuration table lists the vCPUs, ISA, the IOAPIC and its interrupts") {
  const uint32_t cpus = GENERATE(1u, 4u);
  GuestMemory memory = first_mib();
  write_mp_table(memory, cpus);
  const MpTable mp = read_mp_table(memory, 0xf0000);
  CHECK(std::string(mp.table.begin(), mp.table.begin() + 4) == "PCMP");
  CHECK(sum(mp.table) == 0);
  CHECK(mp.table[6] == 4);
  CHECK(std::string(mp.table.begin() + 8, mp.table.begin() + 16) == "KVMM    ");
  CHECK(field<uint32_t>(mp.table, 36) == 0xfee00000);
  CHECK(field<uint16_t>(mp.table, 40) == 0);  // No extended table.
  // Processors, one bus, one IOAPIC, 15 ISA IRQs (no cascade IRQ 2), 2 local.
  const size_t expected_entries = cpus + 1 + 1 + 15 + 2;
  CHECK(field<uint16_t>(mp.table, 34) == expected_entries);
  REQUIRE(mp.entries.size() == expected_entries);
  CHECK(mp.table.size() == 44 + 20 * cpus + 8 * (expected_entries - cpus));

  for (uint32_t cpu = 0; cpu < cpus; ++cpu) {
    const Bytes& processor = mp.entries[cpu];
    CHECK(processor[0] == 0);
    CHECK(processor[1] == cpu);                      // Local APIC ID.
    CHECK(processor[3] == (cpu == 0 ? 0x03 : 0x01));  // Enabled; BSP on vCPU 0 only.
  }
  CHECK(mp.entries[cpus] == Bytes{1, 0, 'I', 'S', 'A', ' ', ' ', ' '});
  const Bytes& io_apic = mp.entries[cpus + 1];
  CHECK(io_apic[0] == 2);
  CHECK(io_apic[1] == cpus);
  CHECK(io_apic[3] == 1);  // Enabled.
  CHECK(field<uint32_t>(io_apic, 4) == 0xfec00000);

  std::vector<uint8_t> irqs;
  for (size_t i = cpus + 2; i < cpus + 2 + 15; ++i) {
    const Bytes& interrupt = mp.entries[i];
    CHECK(interrupt[0] == 3);
    CHECK(interrupt[1] == 0);                    // INT.
    CHECK(field<uint16_t>(interrupt, 2) == 0);   // Conforms to ISA: edge, high.
    CHECK(interrupt[4] == 0);                    // ISA bus.
    CHECK(interrupt[6] == cpus);                 // The IOAPIC.
    CHECK(interrupt[7] == interrupt[5]);  // Identity, IRQ0 on pin 0 (KVM's PIT routing).
    irqs.push_back(interrupt[5]);
  }
  CHECK(irqs == std::vector<uint8_t>{0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  CHECK(mp.entries[cpus + 17] == Bytes{4, 3, 0, 0, 0, 0, 0xff, 0});  // ExtINT -> LINT0.
  CHECK(mp.entries[cpus + 18] == Bytes{4, 1, 0, 0, 0, 0, 0xff, 1});  // NMI -> LINT1.
}

TEST_CASE("MP tables the area or guest memory cannot hold are refused") {
  GuestMemory memory = first_mib();
  CHECK_THROWS_WITH(write_mp_table(memory, 0), Catch::Contains("use 1 to 254"));
  CHECK_THROWS_AS(write_mp_table(memory, 255), Error);
  CHECK_NOTHROW(write_mp_table(memory, 254));
  CHECK_THROWS_WITH(write_mp_table(memory, 1, GuestAddress{0xf0008}),
                    Catch::Contains("16-byte boundary in [0xf0000, 0xff000)"));
  CHECK_THROWS_AS(write_mp_table(memory, 1, GuestAddress{0xe0000}), Error);
  CHECK_THROWS_WITH(write_mp_table(memory, 254, GuestAddress{0xfec00}),
                    Catch::Contains("runs past 0xff000"));

  GuestMemory small;
  small.add_region(GuestAddress{0}, 0x80000);
  CHECK_THROWS_WITH(write_mp_table(small, 1), Catch::Contains("does not cover"));
}

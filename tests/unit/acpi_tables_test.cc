#include "vmm/boot/acpi/acpi_tables.h"

#include <catch2/catch.hpp>

#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/util/error.h"
#include "tests/support/test_files.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {


AcpiConfig two_virtio_devices(uint32_t cpus) {
  AcpiConfig config;
  config.cpus = cpus;
  config.virtio_devices = {{GuestAddress{0xd0000000}, 0x200, 5},
                           {GuestAddress{0xd0000200}, 0x200, 6}};
  return config;
}



std::string chars(const Bytes& table, size_t offset, size_t length) {
  REQUIRE(offset + length <= table.size());
  return std::string(table.begin() + offset, table.begin() + offset + length);
}

uint8_t sum(const Bytes& bytes, size_t length) {
  uint8_t total = 0;
  for (size_t i = 0; i < length; ++i) total = static_cast<uint8_t>(total + bytes.at(i));
  return total;
}

bool contains(const Bytes& haystack, std::string_view needle) {
  const Bytes bytes(needle.begin(), needle.end());  // char may be signed: compare as bytes.
  return std::search(haystack.begin(), haystack.end(), bytes.begin(), bytes.end()) !=
         haystack.end();
}

struct Tables {
  uint64_t rsdp_address = 0;
  Bytes rsdp, xsdt, fadt, madt, dsdt;
  std::map<std::string, uint64_t> addresses;  // By signature.
};

// Follows the pointers as a guest does: RSDP -> XSDT -> FADT/MADT, FADT -> DSDT.
Tables find_tables(const GuestMemory& memory, GuestAddress rsdp_address) {
  Tables tables;
  tables.rsdp_address = rsdp_address.value;
  tables.rsdp = read_bytes(memory, rsdp_address.value, 36);
  auto read_table = [&](uint64_t address) {
    const Bytes header = read_bytes(memory, address, 36);
    const Bytes table = read_bytes(memory, address, field<uint32_t>(header, 4));
    tables.addresses[chars(table, 0, 4)] = address;
    return table;
  };
  tables.xsdt = read_table(field<uint64_t>(tables.rsdp, 24));
  for (size_t offset = 36; offset + 8 <= tables.xsdt.size(); offset += 8) {
    const uint64_t address = field<uint64_t>(tables.xsdt, offset);
    const Bytes table = read_table(address);
    if (chars(table, 0, 4) == "FACP") tables.fadt = table;
    if (chars(table, 0, 4) == "APIC") tables.madt = table;
  }
  REQUIRE(tables.fadt.size() >= 148);
  tables.dsdt = read_table(field<uint64_t>(tables.fadt, 140));
  return tables;
}

struct MadtEntry {
  uint8_t type;
  Bytes bytes;
};

std::vector<MadtEntry> madt_entries(const Bytes& madt) {
  std::vector<MadtEntry> entries;
  for (size_t offset = 44; offset < madt.size();) {
    const uint8_t length = field<uint8_t>(madt, offset + 1);
    REQUIRE(length >= 2);
    REQUIRE(offset + length <= madt.size());
    entries.push_back({madt[offset], Bytes(madt.begin() + offset, madt.begin() + offset + length)});
    offset += length;
  }
  return entries;
}

// A Generic Address Structure naming one byte of system I/O at `port`.
void check_io_byte_register(const Bytes& fadt, size_t offset, uint16_t port) {
  CHECK(field<uint8_t>(fadt, offset) == 1);       // System I/O.
  CHECK(field<uint8_t>(fadt, offset + 1) == 8);   // Bit width.
  CHECK(field<uint8_t>(fadt, offset + 2) == 0);   // Bit offset.
  CHECK(field<uint8_t>(fadt, offset + 3) == 1);   // Byte access.
  CHECK(field<uint64_t>(fadt, offset + 4) == port);
}

bool have_iasl() { return std::system("command -v iasl >/dev/null 2>&1") == 0; }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// Runs iasl with `arguments` in `dir`; returns its exit status and output.
std::pair<int, std::string> run_iasl(const std::filesystem::path& dir, const std::string& arguments) {
  const std::string command = "cd '" + dir.string() + "' && iasl " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  size_t count;
  while ((count = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, count);
  return {::pclose(pipe), output};
}

// The round trip a firmware engineer would do by hand: `iasl -d` the table
// (ACPICA's disassembler checks its structure), then compile the listing back
// (its compiler checks the ASL). Returns the disassembly and the recompiled
// table.
std::pair<std::string, Bytes> check_round_trip(const std::string& name, const Bytes& table) {
  char pattern[] = "/tmp/kvmm-acpi-XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  const std::filesystem::path dir = pattern;
  std::ofstream(dir / (name + ".dat"), std::ios::binary)
      .write(reinterpret_cast<const char*>(table.data()), static_cast<std::streamsize>(table.size()));
  const auto [disassemble_status, disassemble_output] = run_iasl(dir, "-d " + name + ".dat");
  const std::string disassembly = read_file(dir / (name + ".dsl"));
  const auto [compile_status, compile_output] = run_iasl(dir, name + ".dsl");
  const std::string recompiled = read_file(dir / (name + ".aml"));
  std::filesystem::remove_all(dir);

  INFO("iasl -d " << name << ".dat said:\n" << disassemble_output);
  CHECK(disassemble_status == 0);
  for (const char* complaint : {"Error", "Invalid", "Incorrect", "Warning"}) {
    CHECK_THAT(disassemble_output, !Catch::Contains(complaint));
  }
  CHECK_FALSE(disassembly.empty());
  INFO("iasl " << name << ".dsl said:\n" << compile_output);
  CHECK(compile_status == 0);
  CHECK_THAT(compile_output, Catch::Contains("0 Errors, 0 Warnings, 0 Remarks"));
  return {disassembly, Bytes(recompiled.begin(), recompiled.end())};
}

// iasl recompiles a data table byte for byte, except that it signs it as its
// own creator ("INTL" and its version, offsets 28-35) and so redoes the checksum.
void check_same_table(const Bytes& ours, const Bytes& recompiled) {
  REQUIRE(ours.size() == recompiled.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    if (i == 9 || (i >= 28 && i < 36)) continue;
    INFO("byte " << i);
    CHECK(ours[i] == recompiled[i]);
  }
}

}  // namespace

TEST_CASE("The RSDP is revision 2 with both checksums and points at the XSDT") {
  GuestMemory memory = first_mib();
  const GuestAddress rsdp = write_acpi_tables(memory, two_virtio_devices(1));
  CHECK(rsdp == kAcpiTablesBase);
  const Tables tables = find_tables(memory, rsdp);
  CHECK(chars(tables.rsdp, 0, 8) == "RSD PTR ");
  CHECK(sum(tables.rsdp, 20) == 0);
  CHECK(sum(tables.rsdp, 36) == 0);
  CHECK(chars(tables.rsdp, 9, 6) == "KVMM  ");
  CHECK(field<uint8_t>(tables.rsdp, 15) == 2);
  CHECK(field<uint32_t>(tables.rsdp, 16) == 0);  // No RSDT.
  CHECK(field<uint32_t>(tables.rsdp, 20) == 36);
  CHECK(tables.addresses.at("XSDT") == field<uint64_t>(tables.rsdp, 24));
}

TEST_CASE("Every table sums to zero, carries kvmm's IDs and lies in the ACPI area") {
  GuestMemory memory = first_mib();
  const Tables tables = find_tables(memory, write_acpi_tables(memory, two_virtio_devices(4)));
  const std::map<std::string, std::pair<const Bytes*, uint8_t>> expected = {
      {"XSDT", {&tables.xsdt, 1}},
      {"FACP", {&tables.fadt, 6}},
      {"APIC", {&tables.madt, 5}},
      {"DSDT", {&tables.dsdt, 2}},
  };
  REQUIRE(tables.addresses.size() == expected.size());
  for (const auto& [signature, table_and_revision] : expected) {
    const Bytes& table = *table_and_revision.first;
    INFO(signature);
    CHECK(chars(table, 0, 4) == signature);
    CHECK(field<uint32_t>(table, 4) == table.size());
    CHECK(field<uint8_t>(table, 8) == table_and_revision.second);
    CHECK(sum(table, table.size()) == 0);
    CHECK(chars(table, 10, 6) == "KVMM  ");
    CHECK(chars(table, 16, 8) == "KVMMVM  ");
    CHECK(chars(table, 28, 4) == "KVMM");
    const uint64_t address = tables.addresses.at(signature);
    CHECK(address % 16 == 0);
    CHECK(address >= kAcpiTablesBase.value);
    CHECK(address + table.size() <= kAcpiTablesEnd.value);
  }
  // The XSDT lists exactly the FADT and the MADT; the DSDT hangs off the FADT.
  CHECK(tables.xsdt.size() == 36 + 2 * 8);
}

TEST_CASE("The FADT declares a hardware-reduced platform with I/O sleep and reset registers") {
  GuestMemory memory = first_mib();
  const Tables tables = find_tables(memory, write_acpi_tables(memory, two_virtio_devices(1)));
  const Bytes& fadt = tables.fadt;
  REQUIRE(fadt.size() == 276);
  CHECK(field<uint8_t>(fadt, 131) == 4);  // FADT minor version: ACPI 6.4.
  const uint32_t flags = field<uint32_t>(fadt, 112);
  CHECK((flags & (1u << 20)) != 0);  // HW_REDUCED_ACPI.
  CHECK((flags & (1u << 10)) != 0);  // RESET_REG_SUP.
  // VGA and CMOS RTC not present; no legacy devices, no 8042.
  CHECK(field<uint16_t>(fadt, 109) == ((1u << 2) | (1u << 5)));
  check_io_byte_register(fadt, 116, kAcpiResetPort);
  CHECK(field<uint8_t>(fadt, 128) == kAcpiResetValue);
  check_io_byte_register(fadt, 244, kAcpiSleepControlPort);
  check_io_byte_register(fadt, 256, kAcpiSleepStatusPort);
  CHECK(chars(fadt, 268, 8) == "KVMMKVMM");
  // No FACS, no SCI, no PM1 blocks: the first fields up to the boot flags are zero.
  CHECK(std::all_of(fadt.begin() + 36, fadt.begin() + 109, [](uint8_t b) { return b == 0; }));
  CHECK(field<uint64_t>(fadt, 140) == tables.addresses.at("DSDT"));
  CHECK(kAcpiSleepControlPort == 0x3c0);
  CHECK(kAcpiSleepStatusPort == 0x3c1);
  CHECK(kAcpiResetPort == 0x3c2);
}

TEST_CASE("The FADT names the PM timer's port only when asked to") {
  GuestMemory memory = first_mib();
  AcpiConfig config = two_virtio_devices(1);
  const Bytes without = find_tables(memory, write_acpi_tables(memory, config)).fadt;
  CHECK(field<uint32_t>(without, 76) == 0);  // PM_TMR_BLK
  CHECK(field<uint8_t>(without, 91) == 0);   // PM_TMR_LEN
  CHECK(std::all_of(without.begin() + 208, without.begin() + 220, [](uint8_t b) { return b == 0; }));

  config.pm_timer_port = 0x608;
  const Bytes with = find_tables(memory, write_acpi_tables(memory, config)).fadt;
  REQUIRE(with.size() == without.size());
  CHECK(sum(with, with.size()) == 0);
  CHECK(field<uint32_t>(with, 76) == 0x608);
  CHECK(field<uint8_t>(with, 91) == 4);
  CHECK(field<uint8_t>(with, 208) == 1);   // X_PM_TMR_BLK: system I/O,
  CHECK(field<uint8_t>(with, 209) == 32);  // 32 bits wide,
  CHECK(field<uint8_t>(with, 210) == 0);   // from bit 0,
  CHECK(field<uint8_t>(with, 211) == 3);   // dword access,
  CHECK(field<uint64_t>(with, 212) == 0x608);
  CHECK((field<uint32_t>(with, 112) & (1u << 8)) == 0);  // TMR_VAL_EXT clear: 24 bits.
  // Nothing else moves.
  for (size_t i = 0; i < with.size(); ++i) {
    const bool timer_field = (i >= 76 && i < 80) || i == 91 || (i >= 208 && i < 220) || i == 9;
    if (timer_field) continue;
    INFO("byte " << i);
    CHECK(with[i] == without[i]);
  }
}

TEST_CASE("The MADT has one enabled local APIC per vCPU, the IOAPIC and no timer override") {
  const uint32_t cpus = GENERATE(1u, 4u);
  GuestMemory memory = first_mib();
  AcpiConfig config;
  config.cpus = cpus;
  const Tables tables = find_tables(memory, write_acpi_tables(memory, config));
  CHECK(field<uint32_t>(tables.madt, 36) == 0xfee00000);
  CHECK(field<uint32_t>(tables.madt, 40) == 1);  // PCAT_COMPAT.
  std::vector<uint8_t> apic_ids;
  int io_apics = 0, overrides = 0, nmis = 0;
  for (const MadtEntry& entry : madt_entries(tables.madt)) {
    switch (entry.type) {
      case 0:
        REQUIRE(entry.bytes.size() == 8);
        CHECK(entry.bytes[2] == apic_ids.size());  // Processor UID.
        apic_ids.push_back(entry.bytes[3]);
        CHECK(field<uint32_t>(entry.bytes, 4) == 1);  // Enabled.
        break;
      case 1:
        ++io_apics;
        REQUIRE(entry.bytes.size() == 12);
        CHECK(entry.bytes[2] == cpus);
        CHECK(field<uint32_t>(entry.bytes, 4) == 0xfec00000);
        CHECK(field<uint32_t>(entry.bytes, 8) == 0);
        break;
      case 2:  // KVM wires the PIT to GSI 0: identity, so no override.
        ++overrides;
        break;
      case 4:
        ++nmis;
        CHECK(entry.bytes == Bytes{4, 6, 0xff, 0x05, 0x00, 1});  // All CPUs, LINT1.
        break;
      default:
        FAIL("unexpected MADT entry type " << int{entry.type});
    }
  }
  std::vector<uint8_t> expected_ids(cpus);
  for (uint32_t i = 0; i < cpus; ++i) expected_ids[i] = static_cast<uint8_t>(i);
  CHECK(apic_ids == expected_ids);
  CHECK(io_apics == 1);
  CHECK(overrides == 0);
  CHECK(nmis == 1);
  CHECK(tables.madt.size() == 44 + 8 * cpus + 12 + 6);
}

TEST_CASE("A level-triggered virtio device on an ISA IRQ gets its own override") {
  GuestMemory memory = first_mib();
  AcpiConfig config = two_virtio_devices(1);
  config.virtio_devices[0].trigger = aml::InterruptTrigger::kLevel;  // IRQ 5.
  config.virtio_devices.push_back(
      {GuestAddress{0xd0000400}, 0x200, 17, aml::InterruptTrigger::kLevel});  // Not ISA.
  const Tables tables = find_tables(memory, write_acpi_tables(memory, config));
  std::vector<Bytes> overrides;
  for (const MadtEntry& entry : madt_entries(tables.madt)) {
    if (entry.type == 2) overrides.push_back(entry.bytes);
  }
  REQUIRE(overrides.size() == 1);  // IRQ 5 only: GSI 17 is no ISA IRQ.
  CHECK(overrides[0] == Bytes{2, 10, 0, 5, 5, 0, 0, 0, 0x0d, 0x00});  // Level, active high.
}

TEST_CASE("The DSDT holds the _S5_ package, COM1 and each virtio-mmio device") {
  GuestMemory memory = first_mib();
  const Tables tables = find_tables(memory, write_acpi_tables(memory, two_virtio_devices(1)));
  const Bytes& dsdt = tables.dsdt;
  CHECK(contains(dsdt, "\\_S5_\x12\x07\x04\x0a\x05"));  // Package {5, 0, 0, 0}.
  CHECK(contains(dsdt, "COM1"));
  CHECK(contains(dsdt, "\x0c\x41\xd0\x05\x01"));  // EISAID("PNP0501").
  CHECK(contains(dsdt, std::string_view("\x47\x01\xf8\x03\xf8\x03\x01\x08", 8)));
  CHECK(contains(dsdt, "VR00"));
  CHECK(contains(dsdt, "VR01"));
  CHECK_FALSE(contains(dsdt, "VR02"));
  CHECK(contains(dsdt, "LNRO0005"));
  CHECK(contains(dsdt, std::string_view("\x86\x09\x00\x01\x00\x02\x00\xd0\x00\x02\x00\x00", 12)));
  CHECK(contains(dsdt, std::string_view("\x89\x06\x00\x03\x01\x06\x00\x00\x00", 9)));

  AcpiConfig no_serial = two_virtio_devices(1);
  no_serial.serial = false;
  GuestMemory other = first_mib();
  CHECK_FALSE(contains(find_tables(other, write_acpi_tables(other, no_serial)).dsdt, "COM1"));
}

TEST_CASE("The DSDT holds the power button and the Generic Event Device that notifies it") {
  GuestMemory memory = first_mib();
  const Tables tables = find_tables(memory, write_acpi_tables(memory, two_virtio_devices(1)));
  // Encoded by hand from ACPI 6.4 §20 and §6.4.3.6:
  //   Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, 0) }
  const std::string_view power_button(
      "\x5b\x82\x15PWRB"
      "\x08_HID\x0c\x41\xd0\x0c\x0c"
      "\x08_UID\x00",
      23);
  CHECK(contains(tables.dsdt, power_button));
  //   Device (GED_) {
  //     Name (_HID, "ACPI0013") Name (_UID, 0)
  //     Name (_CRS, ResourceTemplate () { Interrupt (ResourceConsumer, Level,
  //                                        ActiveHigh, Exclusive) { 16 } })
  //     OperationRegion (GDST, SystemMemory, 0xd0002000, 4)
  //     Field (GDST, DWordAcc, NoLock, WriteAsZeros) { GDAT, 32 }
  //     Method (_EVT, 1, Serialized) {
  //       Store (GDAT, Local0)
  //       If (And (Local0, 1)) { Notify (\_SB_.PWRB, 0x80) } } }
  // 104 bytes after the two-byte PkgLength: 106 = 0x6a.
  const std::string_view generic_event_device(
      "\x5b\x82\x4a\x06GED_"
      "\x08_HID\x0d" "ACPI0013\x00"
      "\x08_UID\x00"
      "\x08_CRS\x11\x0e\x0a\x0b"
      "\x89\x06\x00\x01\x01\x10\x00\x00\x00"  // Consumer, level, active high, GSI 16.
      "\x79\xe6"                              // End Tag and its checksum.
      "\x5b\x80GDST\x00\x0c\x00\x20\x00\xd0\x0a\x04"
      "\x5b\x81\x0bGDST\x43GDAT\x20"
      "\x14\x1f_EVT\x09"
      "\x70GDAT\x60"
      "\xa0\x12\x7b\x60\x01\x00"
      "\x86\\\x2e_SB_PWRB\x0a\x80",
      108);
  CHECK(contains(tables.dsdt, generic_event_device));

  AcpiConfig no_button = two_virtio_devices(1);
  no_button.power_button = false;
  GuestMemory other = first_mib();
  const Bytes without = find_tables(other, write_acpi_tables(other, no_button)).dsdt;
  CHECK_FALSE(contains(without, "PWRB"));
  CHECK_FALSE(contains(without, "ACPI0013"));
}

TEST_CASE("is_s5_request accepts SLP_EN with SLP_TYP 5 only") {
  CHECK(is_s5_request((5 << 2) | (1 << 5)));  // 0x34: what Linux writes to power off.
  CHECK_FALSE(is_s5_request(5 << 2));         // SLP_EN clear.
  CHECK_FALSE(is_s5_request(1 << 5));         // S0.
  CHECK_FALSE(is_s5_request((3 << 2) | (1 << 5)));
  CHECK_FALSE(is_s5_request(0x80));  // Clearing WAK_STS is not a sleep request.
}

TEST_CASE("Configurations the tables cannot describe are refused") {
  GuestMemory memory = first_mib();
  AcpiConfig config;
  config.cpus = 0;
  CHECK_THROWS_WITH(write_acpi_tables(memory, config), Catch::Contains("use 1 to 254"));
  config.cpus = 255;
  CHECK_THROWS_AS(write_acpi_tables(memory, config), Error);
  config.cpus = 254;
  CHECK_NOTHROW(write_acpi_tables(memory, config));

  AcpiConfig bad_irq = two_virtio_devices(1);
  bad_irq.virtio_devices[1].irq = 24;
  CHECK_THROWS_WITH(write_acpi_tables(memory, bad_irq), Catch::Contains("IRQ 24"));
  AcpiConfig high = two_virtio_devices(1);
  high.virtio_devices[0].base = GuestAddress{0x100000000};
  CHECK_THROWS_WITH(write_acpi_tables(memory, high), Catch::Contains("below 4 GiB"));
  AcpiConfig many = two_virtio_devices(1);
  many.virtio_devices.resize(257, {GuestAddress{0xd0000000}, 0x200, 5});
  CHECK_THROWS_WITH(write_acpi_tables(memory, many), Catch::Contains("at most 256"));

  CHECK_THROWS_WITH(write_acpi_tables(memory, config, GuestAddress{0xe0008}),
                    Catch::Contains("16-byte boundary in [0xe0000, 0xf0000)"));
  CHECK_THROWS_AS(write_acpi_tables(memory, config, GuestAddress{0xf0000}), Error);
}

TEST_CASE("Tables that would overflow the ACPI area or guest memory are refused") {
  GuestMemory memory = first_mib();
  AcpiConfig config = two_virtio_devices(254);
  config.virtio_devices.resize(256, {GuestAddress{0xd0000000}, 0x200, 5});
  CHECK_NOTHROW(write_acpi_tables(memory, config));
  CHECK_THROWS_WITH(write_acpi_tables(memory, config, GuestAddress{0xeff00}),
                    Catch::Contains("past 0xf0000"));

  GuestMemory small;
  small.add_region(GuestAddress{0}, 0x80000);
  CHECK_THROWS_WITH(write_acpi_tables(small, two_virtio_devices(1)),
                    Catch::Contains("does not cover"));
}

TEST_CASE("iasl disassembles and recompiles every table without complaint") {
  if (!have_iasl()) {
    WARN("iasl not found: install acpica-tools to validate the ACPI tables");
    return;
  }
  GuestMemory memory = first_mib();
  const Tables tables = find_tables(memory, write_acpi_tables(memory, two_virtio_devices(4)));
  // iasl decodes an RSDP only out of an acpidump text file, not on its own:
  // the RSDP's checksums are checked above instead.
  const auto [xsdt, xsdt_recompiled] = check_round_trip("xsdt", tables.xsdt);
  check_same_table(tables.xsdt, xsdt_recompiled);
  const auto [fadt, fadt_recompiled] = check_round_trip("facp", tables.fadt);
  check_same_table(tables.fadt, fadt_recompiled);
  AcpiConfig with_timer = two_virtio_devices(1);
  with_timer.pm_timer_port = 0x608;
  const Bytes timer_fadt = find_tables(memory, write_acpi_tables(memory, with_timer)).fadt;
  const auto [timer_facp, timer_recompiled] = check_round_trip("facp", timer_fadt);
  check_same_table(timer_fadt, timer_recompiled);
  CHECK_THAT(timer_facp, Catch::Contains("PM Timer Block Address : 00000608"));
  const auto [madt, madt_recompiled] = check_round_trip("apic", tables.madt);
  check_same_table(tables.madt, madt_recompiled);
  // The recompiled DSDT differs where iasl drops the root prefix of names
  // already at the root and leaves End Tag checksums 0; compiling cleanly is
  // the check.
  const auto [dsdt, dsdt_recompiled] = check_round_trip("dsdt", tables.dsdt);
  CHECK_FALSE(dsdt_recompiled.empty());
  CHECK_THAT(fadt, Catch::Contains("Hardware Reduced (V5) : 1"));
  CHECK_THAT(madt, Catch::Contains("Local Apic ID : 03"));
  CHECK_THAT(dsdt, Catch::Contains("_S5"));
  CHECK_THAT(dsdt, Catch::Contains("LNRO0005"));
  CHECK_THAT(dsdt, Catch::Contains("PNP0501"));
  CHECK_THAT(dsdt, Catch::Contains("Memory32Fixed (ReadWrite"));
  // The power button and its Generic Event Device, as ACPICA reads them.
  CHECK_THAT(dsdt, Catch::Contains("EisaId (\"PNP0C0C\") /* Power Button Device */"));
  CHECK_THAT(dsdt, Catch::Contains("\"ACPI0013\" /* Generic Event Device */"));
  CHECK_THAT(dsdt, Catch::Contains("Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive"));
  CHECK_THAT(dsdt, Catch::Contains("OperationRegion (GDST, SystemMemory, 0xD0002000, 0x04)"));
  CHECK_THAT(dsdt, Catch::Contains("Field (GDST, DWordAcc, NoLock, WriteAsZeros)"));
  CHECK_THAT(dsdt, Catch::Contains("Method (_EVT, 1, Serialized)"));
  CHECK_THAT(dsdt, Catch::Contains("If ((Local0 & One))"));
  CHECK_THAT(dsdt, Catch::Contains("Notify (\\_SB.PWRB, 0x80)"));
}

namespace {

AcpiConfig pc_power(uint32_t cpus) {
  AcpiConfig config = two_virtio_devices(cpus);
  config.pm_timer_port = 0x608;
  config.pm1 = AcpiConfig::Pm1Blocks{0x600, 0x604};
  config.cmos_rtc = true;
  return config;
}

}  // namespace

TEST_CASE("PC power management adds the PM1a blocks, a FACS and clears HW_REDUCED_ACPI") {
  GuestMemory memory = first_mib();
  const Tables tables = find_tables(memory, write_acpi_tables(memory, pc_power(1)));
  const Bytes& fadt = tables.fadt;
  REQUIRE(fadt.size() == 276);
  CHECK(sum(fadt, fadt.size()) == 0);
  CHECK((field<uint32_t>(fadt, 112) & (1u << 20)) == 0);  // Not hardware-reduced.
  CHECK((field<uint32_t>(fadt, 112) & (1u << 10)) != 0);  // RESET_REG_SUP stays.
  CHECK(field<uint16_t>(fadt, 109) == (1u << 2));          // VGA absent, the CMOS RTC present.
  CHECK(field<uint8_t>(fadt, 108) == 0x32);                // CENTURY.
  CHECK(field<uint32_t>(fadt, 56) == 0x600);               // PM1a_EVT_BLK
  CHECK(field<uint32_t>(fadt, 60) == 0);                   // PM1b_EVT_BLK
  CHECK(field<uint32_t>(fadt, 64) == 0x604);               // PM1a_CNT_BLK
  CHECK(field<uint32_t>(fadt, 68) == 0);                   // PM1b_CNT_BLK
  CHECK(field<uint8_t>(fadt, 88) == 4);                    // PM1_EVT_LEN
  CHECK(field<uint8_t>(fadt, 89) == 2);                    // PM1_CNT_LEN
  CHECK(field<uint32_t>(fadt, 76) == 0x608);               // PM_TMR_BLK
  // X_PM1a_EVT_BLK and X_PM1a_CNT_BLK: system I/O, 32 and 16 bits, word access.
  CHECK(Bytes(fadt.begin() + 148, fadt.begin() + 160) ==
        Bytes{1, 32, 0, 2, 0x00, 0x06, 0, 0, 0, 0, 0, 0});
  CHECK(Bytes(fadt.begin() + 172, fadt.begin() + 184) ==
        Bytes{1, 16, 0, 2, 0x04, 0x06, 0, 0, 0, 0, 0, 0});

  // The FACS: FIRMWARE_CTRL and X_FIRMWARE_CTRL agree, 64-byte aligned, in
  // the ACPI area and clear of every other table.
  const uint32_t facs_address = field<uint32_t>(fadt, 36);
  CHECK(field<uint64_t>(fadt, 132) == facs_address);
  CHECK(acpi_facs_address() == GuestAddress{facs_address});
  CHECK(facs_address % 64 == 0);
  CHECK(facs_address >= kAcpiTablesBase.value);
  CHECK(facs_address + 64 <= kAcpiTablesEnd.value);
  for (const auto& [signature, address] : tables.addresses) {
    INFO(signature);
    const Bytes header = read_bytes(memory, address, 8);
    const uint64_t end = address + field<uint32_t>(header, 4);
    CHECK((end <= facs_address || address >= facs_address + 64));
  }
  const Bytes facs = read_bytes(memory, facs_address, 64);
  CHECK(chars(facs, 0, 4) == "FACS");
  CHECK(field<uint32_t>(facs, 4) == 64);
  CHECK(field<uint32_t>(facs, kFacsFirmwareWakingVectorOffset) == 0);
  CHECK(field<uint8_t>(facs, 32) == 2);  // Version.
  CHECK(std::all_of(facs.begin() + 8, facs.begin() + 32, [](uint8_t b) { return b == 0; }));

  // \_S3_ = {1, 0, 0, 0}, which PM1a_CNT's SLP_TYP takes; \_S5_ is unchanged.
  CHECK(contains(tables.dsdt, std::string_view("\\_S3_\x12\x06\x04\x01\x00\x00\x00", 11)));
  CHECK(contains(tables.dsdt, "\\_S5_\x12\x07\x04\x0a\x05"));
  CHECK(kAcpiS3SleepType == 1);
}

TEST_CASE("Without PC power management the tables are what a Linux guest always saw") {
  GuestMemory memory = first_mib();
  const Tables tables = find_tables(memory, write_acpi_tables(memory, two_virtio_devices(1)));
  CHECK(field<uint32_t>(tables.fadt, 36) == 0);
  CHECK(field<uint64_t>(tables.fadt, 132) == 0);
  CHECK_FALSE(contains(tables.dsdt, "_S3_"));
  CHECK(std::all_of(tables.fadt.begin() + 148, tables.fadt.begin() + 208,
                    [](uint8_t b) { return b == 0; }));
  // The MADT follows the FADT as before: no FACS between them.
  CHECK(tables.addresses.at("APIC") ==
        ((tables.addresses.at("FACP") + 276 + 15) & ~uint64_t{15}));
}

TEST_CASE("iasl accepts the FADT and DSDT of PC power management") {
  if (!have_iasl()) {
    WARN("iasl not found: install acpica-tools to validate the ACPI tables");
    return;
  }
  GuestMemory memory = first_mib();
  const Tables tables = find_tables(memory, write_acpi_tables(memory, pc_power(2)));
  const auto [fadt, fadt_recompiled] = check_round_trip("facp", tables.fadt);
  check_same_table(tables.fadt, fadt_recompiled);
  CHECK_THAT(fadt, Catch::Contains("Hardware Reduced (V5) : 0"));
  CHECK_THAT(fadt, Catch::Contains("PM1A Event Block Address : 00000600"));
  CHECK_THAT(fadt, Catch::Contains("PM1A Control Block Address : 00000604"));
  const auto [dsdt, dsdt_recompiled] = check_round_trip("dsdt", tables.dsdt);
  CHECK_FALSE(dsdt_recompiled.empty());
  CHECK_THAT(dsdt, Catch::Contains("_S3"));
  const Bytes facs = read_bytes(memory, field<uint32_t>(tables.fadt, 36), 64);
  const auto [facs_listing, facs_recompiled] = check_round_trip("facs", facs);
  CHECK(facs_recompiled == facs);  // No header, no checksum: byte for byte.
  CHECK_THAT(facs_listing, Catch::Contains("Version : 02"));
}

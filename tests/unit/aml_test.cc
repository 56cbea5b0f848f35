#include "vmm/boot/acpi/aml.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <numeric>

#include "base/util/error.h"

namespace aml = kvmm::aml;
using aml::Bytes;

namespace {

Bytes text(std::string_view chars) { return Bytes(chars.begin(), chars.end()); }

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

}  // namespace

TEST_CASE("PkgLength values use the fewest bytes at each width boundary") {
  CHECK(aml::encode_pkg_length(1) == Bytes{0x01});
  CHECK(aml::encode_pkg_length(63) == Bytes{0x3f});
  CHECK(aml::encode_pkg_length(64) == Bytes{0x40, 0x04});
  CHECK(aml::encode_pkg_length(0x123) == Bytes{0x43, 0x12});
  CHECK(aml::encode_pkg_length(4095) == Bytes{0x4f, 0xff});
  CHECK(aml::encode_pkg_length(4096) == Bytes{0x80, 0x00, 0x01});
  CHECK(aml::encode_pkg_length(0xfffff) == Bytes{0x8f, 0xff, 0xff});
  CHECK(aml::encode_pkg_length(0x100000) == Bytes{0xc0, 0x00, 0x00, 0x01});
  CHECK(aml::encode_pkg_length(0xfffffff) == Bytes{0xcf, 0xff, 0xff, 0xff});
  CHECK_THROWS_AS(aml::encode_pkg_length(0x10000000), kvmm::Error);
}

TEST_CASE("PkgLength for a payload counts its own bytes") {
  // 62 + 1 fits one byte; 63 + 1 = 64 does not, so 63 + 2 = 65 in two.
  CHECK(aml::pkg_length(0) == Bytes{0x01});
  CHECK(aml::pkg_length(62) == Bytes{0x3f});
  CHECK(aml::pkg_length(63) == Bytes{0x41, 0x04});
  CHECK(aml::pkg_length(4093) == Bytes{0x4f, 0xff});
  CHECK(aml::pkg_length(4094) == Bytes{0x81, 0x00, 0x01});
  CHECK(aml::pkg_length(0xfffff - 3) == Bytes{0x8f, 0xff, 0xff});
  CHECK(aml::pkg_length(0xfffff - 2) == Bytes{0xc1, 0x00, 0x00, 0x01});
  CHECK(aml::pkg_length(0xfffffff - 4) == Bytes{0xcf, 0xff, 0xff, 0xff});
  CHECK_THROWS_WITH(aml::pkg_length(0xfffffff - 3), Catch::Contains("28-bit limit"));
}

TEST_CASE("Integers take the shortest encoding at each width boundary") {
  CHECK(aml::integer(0) == Bytes{0x00});
  CHECK(aml::integer(1) == Bytes{0x01});
  CHECK(aml::integer(2) == Bytes{0x0a, 0x02});
  CHECK(aml::integer(0xff) == Bytes{0x0a, 0xff});
  CHECK(aml::integer(0x100) == Bytes{0x0b, 0x00, 0x01});
  CHECK(aml::integer(0xffff) == Bytes{0x0b, 0xff, 0xff});
  CHECK(aml::integer(0x10000) == Bytes{0x0c, 0x00, 0x00, 0x01, 0x00});
  CHECK(aml::integer(0xffffffff) == Bytes{0x0c, 0xff, 0xff, 0xff, 0xff});
  CHECK(aml::integer(0x100000000) == Bytes{0x0e, 0, 0, 0, 0, 1, 0, 0, 0});
  CHECK(aml::integer(UINT64_MAX) == Bytes{0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
}

TEST_CASE("Strings are NUL-terminated ASCII") {
  CHECK(aml::string("LNRO0005") == cat({{0x0d}, text("LNRO0005"), {0x00}}));
  CHECK(aml::string("") == Bytes{0x0d, 0x00});
  CHECK_THROWS_AS(aml::string(std::string_view("a\0b", 3)), kvmm::Error);
  CHECK_THROWS_AS(aml::string("caf\xc3\xa9"), kvmm::Error);
}

TEST_CASE("Name segments are padded with underscores and checked") {
  CHECK(aml::name_seg("_S5") == text("_S5_"));
  CHECK(aml::name_seg("COM1") == text("COM1"));
  CHECK(aml::name_seg("A") == text("A___"));
  CHECK_THROWS_WITH(aml::name_seg("1ABC"), Catch::Contains("not starting with a digit"));
  CHECK_THROWS_AS(aml::name_seg("ABCDE"), kvmm::Error);
  CHECK_THROWS_AS(aml::name_seg("com1"), kvmm::Error);
  CHECK_THROWS_AS(aml::name_seg(""), kvmm::Error);
}

TEST_CASE("Name strings encode root, parent and multi-segment paths") {
  CHECK(aml::name_string("_HID") == text("_HID"));
  CHECK(aml::name_string("\\_S5") == text("\\_S5_"));
  CHECK(aml::name_string("\\_SB_.COM1") == cat({text("\\"), {0x2e}, text("_SB_COM1")}));
  CHECK(aml::name_string("\\_SB.PCI0.ISA") == cat({text("\\"), {0x2f, 0x03}, text("_SB_PCI0ISA_")}));
  CHECK(aml::name_string("^^DEV") == text("^^DEV_"));
  CHECK(aml::name_string("\\") == Bytes{'\\', 0x00});
  CHECK_THROWS_AS(aml::name_string(""), kvmm::Error);
  CHECK_THROWS_AS(aml::name_string("\\_SB_..COM1"), kvmm::Error);
}

TEST_CASE("EISA IDs compress to the integers ASL's EISAID produces") {
  CHECK(aml::eisa_id_value("PNP0501") == 0x0105d041);
  CHECK(aml::eisa_id_value("PNP0A03") == 0x030ad041);
  CHECK(aml::eisa_id_value("PNP0C0F") == 0x0f0cd041);
  CHECK(aml::eisa_id("PNP0501") == Bytes{0x0c, 0x41, 0xd0, 0x05, 0x01});
  CHECK_THROWS_AS(aml::eisa_id_value("pnp0501"), kvmm::Error);
  CHECK_THROWS_AS(aml::eisa_id_value("PNP050"), kvmm::Error);
  CHECK_THROWS_AS(aml::eisa_id_value("PNP050G"), kvmm::Error);
}

TEST_CASE("Name and Package encode the _S5_ object") {
  const Bytes s5 = aml::name(
      "\\_S5_", aml::package({aml::integer(5), aml::integer(0), aml::integer(0), aml::integer(0)}));
  CHECK(s5 == Bytes{0x08, '\\', '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00});
}

TEST_CASE("Methods carry their argument count and serialization flag") {
  CHECK(aml::method("_STA", 0, aml::MethodSerialization::kNotSerialized,
                    {aml::return_value(aml::integer(0x0f))}) ==
        Bytes{0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f});
  CHECK(aml::method("_DSM", 4, aml::MethodSerialization::kSerialized, {}) ==
        Bytes{0x14, 0x06, '_', 'D', 'S', 'M', 0x0c});
  CHECK_THROWS_WITH(aml::method("_XYZ", 8, aml::MethodSerialization::kNotSerialized, {}),
                    Catch::Contains("at most 7"));
}

TEST_CASE("A small virtio-mmio device encodes byte for byte") {
  const Bytes device = aml::device("VR00", {aml::name("_HID", aml::string("LNRO0005")),
                                            aml::name("_UID", aml::integer(0))});
  const Bytes expected = cat({
      {0x5b, 0x82, 0x1a},  // DeviceOp, PkgLength 26 (itself, the name and two Names).
      text("VR00"),
      {0x08}, text("_HID"), {0x0d}, text("LNRO0005"), {0x00},
      {0x08}, text("_UID"), {0x00},
  });
  CHECK(device == expected);
}

TEST_CASE("Objects switch to a two-byte PkgLength when their body reaches 63 bytes") {
  const Bytes noops62(58, 0xa3);  // NoopOps: name (4) + 58 = 62 bytes of body.
  const Bytes short_device = aml::device("DEV0", {noops62});
  CHECK(short_device.size() == 2 + 1 + 62);
  CHECK(short_device[2] == 0x3f);
  const Bytes long_device = aml::device("DEV0", {noops62, Bytes{0xa3}});
  CHECK(long_device.size() == 2 + 2 + 63);
  CHECK(long_device[2] == 0x41);
  CHECK(long_device[3] == 0x04);
  const Bytes scope = aml::scope("\\_SB_", {long_device});
  // Body: "\_SB_" (5) + the device (67) = 72, plus two PkgLength bytes = 74.
  CHECK(scope == cat({{0x10, 0x4a, 0x04, '\\'}, text("_SB_"), long_device}));
}

TEST_CASE("Resource descriptors match the ACPI layouts") {
  CHECK(aml::memory32_fixed(aml::MemoryAccess::kReadWrite, 0xd0000000, 0x200) ==
        Bytes{0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x02, 0x00, 0x00});
  CHECK(aml::memory32_fixed(aml::MemoryAccess::kReadOnly, 0x1000, 0x10)[3] == 0x00);
  CHECK_THROWS_AS(aml::memory32_fixed(aml::MemoryAccess::kReadWrite, 0xffffff00, 0x200),
                  kvmm::Error);
  CHECK(aml::interrupt(aml::InterruptTrigger::kEdge, aml::InterruptPolarity::kActiveHigh,
                       aml::InterruptSharing::kExclusive, 5) ==
        Bytes{0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00});
  CHECK(aml::interrupt(aml::InterruptTrigger::kLevel, aml::InterruptPolarity::kActiveLow,
                       aml::InterruptSharing::kShared, 0x20)[3] == 0x0d);
  CHECK(aml::io_port(0x3f8, 0x3f8, 1, 8) == Bytes{0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08});
  CHECK_THROWS_AS(aml::io_port(0x3f8, 0x2f8, 1, 8), kvmm::Error);
}

TEST_CASE("A resource template is a buffer closed by a checksummed End Tag") {
  const Bytes crs = aml::resource_template({aml::io_port(0x3f8, 0x3f8, 1, 8)});
  CHECK(crs == Bytes{0x11, 0x0d, 0x0a, 0x0a, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
                     0x79, 0x40});
  const Bytes larger = aml::resource_template(
      {aml::memory32_fixed(aml::MemoryAccess::kReadWrite, 0xd0000000, 0x200),
       aml::interrupt(aml::InterruptTrigger::kEdge, aml::InterruptPolarity::kActiveHigh,
                      aml::InterruptSharing::kExclusive, 5)});
  // Buffer header: opcode, PkgLength, BytePrefix size; then 12 + 9 + 2 bytes.
  REQUIRE(larger.size() == 4 + 23);
  const uint32_t sum = std::accumulate(larger.begin() + 4, larger.end(), 0u);
  CHECK(sum % 256 == 0);
  CHECK(larger[larger.size() - 2] == 0x79);
}

TEST_CASE("Method statements: Store, And, If, Notify and locals encode as in §20.2") {
  CHECK(aml::local(0) == Bytes{0x60});
  CHECK(aml::local(7) == Bytes{0x67});
  CHECK_THROWS_WITH(aml::local(8), Catch::Contains("Local0-Local7"));
  CHECK(aml::name_reference("GDAT") == text("GDAT"));
  // StoreOp TermArg SuperName.
  CHECK(aml::store(aml::name_reference("GDAT"), aml::local(0)) ==
        cat({{0x70}, text("GDAT"), {0x60}}));
  // AndOp Operand Operand Target, the target a NullName.
  CHECK(aml::bitwise_and(aml::local(0), aml::integer(1)) == Bytes{0x7b, 0x60, 0x01, 0x00});
  // NotifyOp NotifyObject NotifyValue: \_SB_.PWRB as a DualNamePath, 0x80 a byte.
  const Bytes notify = cat({{0x86, '\\', 0x2e}, text("_SB_PWRB"), {0x0a, 0x80}});
  CHECK(aml::notify("\\_SB_.PWRB", 0x80) == notify);
  // IfOp PkgLength Predicate TermList: 4 + 13 bytes, plus the PkgLength's own.
  CHECK(aml::if_then(aml::bitwise_and(aml::local(0), aml::integer(1)), {notify}) ==
        cat({{0xa0, 0x12, 0x7b, 0x60, 0x01, 0x00}, notify}));
}

TEST_CASE("OperationRegion and Field encode as in §20.2.5.2") {
  // ExtOpPrefix OpRegionOp NameString RegionSpace RegionOffset RegionLen.
  CHECK(aml::operation_region("GDST", aml::RegionSpace::kSystemMemory, 0xd0002000, 4) ==
        cat({{0x5b, 0x80}, text("GDST"), {0x00, 0x0c, 0x00, 0x20, 0x00, 0xd0, 0x0a, 0x04}}));
  CHECK(aml::operation_region("PORT", aml::RegionSpace::kSystemIo, 0x3c0, 1) ==
        cat({{0x5b, 0x80}, text("PORT"), {0x01, 0x0b, 0xc0, 0x03, 0x01}}));
  CHECK_THROWS_WITH(aml::operation_region("GDST", aml::RegionSpace::kSystemMemory, 0, 0),
                    Catch::Contains("empty"));
  CHECK_THROWS_WITH(aml::operation_region("GDST", aml::RegionSpace::kSystemMemory, UINT64_MAX, 2),
                    Catch::Contains("passes the end"));
  // ExtOpPrefix FieldOp PkgLength NameString FieldFlags FieldList. Flags:
  // DWordAcc (3) | NoLock | WriteAsZeros (2 << 5) = 0x43; each NamedField a
  // NameSeg and its width in bits.
  CHECK(aml::field("GDST", aml::FieldAccess::kDWord, aml::FieldUpdate::kWriteAsZeros,
                   {{"GDAT", 32}}) ==
        cat({{0x5b, 0x81, 0x0b}, text("GDST"), {0x43}, text("GDAT"), {0x20}}));
  // ByteAcc, Preserve; a width of 64 bits needs a two-byte PkgLength.
  CHECK(aml::field("REGS", aml::FieldAccess::kByte, aml::FieldUpdate::kPreserve,
                   {{"AB", 8}, {"WIDE", 64}}) ==
        cat({{0x5b, 0x81, 0x11}, text("REGS"), {0x01}, text("AB__"), {0x08}, text("WIDE"),
             {0x40, 0x04}}));
  CHECK_THROWS_WITH(aml::field("GDST", aml::FieldAccess::kDWord, aml::FieldUpdate::kPreserve,
                               {{"GDAT", 0}}),
                    Catch::Contains("no bits"));
}

#include "devices/pci/pci_host_bridge.h"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstring>

#include "base/bus/bus.h"

using namespace kvmm;

namespace {

// The bridge on a PIO bus at 0xcf8, driven with in/out of each width.
struct Ports {
  Bus pio{Bus::Kind::kPio};
  Ports() { pio.insert(std::make_shared<PciHostBridge>(), PciHostBridge::kPort, PciHostBridge::kSize, "pci"); }

  void outl(uint16_t port, uint32_t value) {
    std::array<uint8_t, 4> b{};
    std::memcpy(b.data(), &value, 4);
    REQUIRE(pio.write(port, b));
  }
  void outb(uint16_t port, uint8_t value) {
    const std::array<uint8_t, 1> b{value};
    REQUIRE(pio.write(port, b));
  }
  uint32_t inl(uint16_t port) {
    std::array<uint8_t, 4> b{};
    REQUIRE(pio.read(port, b));
    uint32_t value = 0;
    std::memcpy(&value, b.data(), 4);
    return value;
  }
  uint16_t inw(uint16_t port) {
    std::array<uint8_t, 2> b{};
    REQUIRE(pio.read(port, b));
    return static_cast<uint16_t>(b[0] | b[1] << 8);
  }
  uint8_t inb(uint16_t port) {
    std::array<uint8_t, 1> b{};
    REQUIRE(pio.read(port, b));
    return b[0];
  }
  // A configuration read as Linux's pci_conf1_read does it.
  uint32_t config_read(uint32_t bus, uint32_t device, uint32_t function, uint32_t reg, int width) {
    outl(0xcf8, 0x80000000u | bus << 16 | device << 11 | function << 8 | (reg & 0xfc));
    const uint16_t port = static_cast<uint16_t>(0xcfc + (reg & 3));
    return width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
  }
};

}  // namespace

TEST_CASE("PCI host bridge: Linux's mechanism #1 probe finds it (arch/x86/pci/direct.c)") {
  Ports p;
  // pci_check_type1: a byte to 0xcfb, then CONFIG_ADDRESS must read back.
  p.outb(0xcfb, 0x01);
  const uint32_t saved = p.inl(0xcf8);
  p.outl(0xcf8, 0x80000000u);
  CHECK(p.inl(0xcf8) == 0x80000000u);
  p.outl(0xcf8, saved);
  CHECK(p.inl(0xcf8) == saved);
  // pci_sanity_check: a host bridge (class 0x0600) on bus 0.
  CHECK(p.config_read(0, 0, 0, 0x0a, 2) == 0x0600);
}

TEST_CASE("PCI host bridge: its header is a single-function type 0 with no BAR or interrupt") {
  Ports p;
  CHECK(p.config_read(0, 0, 0, 0x00, 2) == PciHostBridge::kVendorId);
  CHECK(p.config_read(0, 0, 0, 0x02, 2) == PciHostBridge::kDeviceId);
  CHECK(p.config_read(0, 0, 0, 0x00, 4) ==
        (uint32_t{PciHostBridge::kDeviceId} << 16 | PciHostBridge::kVendorId));
  CHECK(p.config_read(0, 0, 0, 0x08, 4) == PciHostBridge::kClassCode << 8);
  CHECK(p.config_read(0, 0, 0, 0x0e, 1) == 0x00);  // Header type 0, bit 7 clear.
  for (uint32_t bar = 0x10; bar <= 0x24; bar += 4) {
    // Sizing a BAR: all ones written, zero read back (no BAR).
    p.outl(0xcf8, 0x80000000u | bar);
    p.outl(0xcfc, 0xffffffffu);
    CHECK(p.inl(0xcfc) == 0);
  }
  CHECK(p.config_read(0, 0, 0, 0x3d, 1) == 0);  // No interrupt pin.
}

TEST_CASE("PCI host bridge: every other function, and a disabled address, read as absent") {
  Ports p;
  CHECK(p.config_read(0, 1, 0, 0, 4) == 0xffffffffu);
  CHECK(p.config_read(0, 0, 1, 0, 2) == 0xffff);
  CHECK(p.config_read(1, 0, 0, 0, 4) == 0xffffffffu);
  CHECK(p.config_read(0, 31, 7, 0xfc, 4) == 0xffffffffu);
  p.outl(0xcf8, 0x81000000u);  // AMD's extended register 0x100: none.
  CHECK(p.inl(0xcfc) == 0xffffffffu);
  p.outl(0xcf8, 0x00000000u);  // Enable bit clear.
  CHECK(p.inl(0xcfc) == 0xffffffffu);
  // Only 32-bit accesses reach CONFIG_ADDRESS; others read as all ones.
  CHECK(p.inw(0xcf8) == 0xffff);
  CHECK(p.inb(0xcfa) == 0xff);
  // A 16-bit access at 0xcfe reaches the register's upper half.
  p.outl(0xcf8, 0x80000000u);
  CHECK(p.inw(0xcfe) == PciHostBridge::kDeviceId);
}

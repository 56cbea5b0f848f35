#include "devices/pci/pci_host_bridge.h"

#include <cstring>

namespace kvmm {

namespace {

// CONFIG_ADDRESS fields (PCI Local Bus 3.0 figure 3-1).
constexpr uint32_t kEnable = 1u << 31;
constexpr uint32_t bus_of(uint32_t address) { return (address >> 16) & 0xff; }
constexpr uint32_t device_of(uint32_t address) { return (address >> 11) & 0x1f; }
constexpr uint32_t function_of(uint32_t address) { return (address >> 8) & 0x7; }
constexpr uint32_t register_of(uint32_t address) { return address & 0xfc; }
// AMD's extension: bits 27-24 are bits 11-8 of an extended register, past
// the 256 bytes a conventional function has.
constexpr uint32_t extended_register_of(uint32_t address) { return (address >> 24) & 0xf; }

// Type 0 header offsets (PCI Local Bus 3.0 §6.1).
constexpr size_t kVendorOffset = 0x00;
constexpr size_t kDeviceOffset = 0x02;
constexpr size_t kClassOffset = 0x09;  // Programming interface, subclass, base class.

void put16(std::span<uint8_t> config, size_t offset, uint16_t value) {
  config[offset] = static_cast<uint8_t>(value);
  config[offset + 1] = static_cast<uint8_t>(value >> 8);
}

}  // namespace

PciHostBridge::PciHostBridge() {
  put16(config_, kVendorOffset, kVendorId);
  put16(config_, kDeviceOffset, kDeviceId);
  config_[kClassOffset] = static_cast<uint8_t>(kClassCode);
  config_[kClassOffset + 1] = static_cast<uint8_t>(kClassCode >> 8);
  config_[kClassOffset + 2] = static_cast<uint8_t>(kClassCode >> 16);
  // Header type 0, single function; no BARs, no interrupt pin: all zero.
}

uint8_t PciHostBridge::config_byte(uint32_t address, uint64_t port_byte) const {
  if (!(address & kEnable) || bus_of(address) != 0 || device_of(address) != 0 ||
      function_of(address) != 0 || extended_register_of(address) != 0) {
    return 0xff;
  }
  return config_[register_of(address) + port_byte];
}

void PciHostBridge::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (offset < kDataOffset) {
    if (offset == 0 && data.size() == 4) {
      std::memcpy(data.data(), &address_, 4);
    } else {
      std::memset(data.data(), 0xff, data.size());
    }
    return;
  }
  // The bus keeps an access inside the device, so it ends at CONFIG_DATA's
  // last byte.
  for (size_t i = 0; i < data.size(); ++i) data[i] = config_byte(address_, offset - kDataOffset + i);
}

void PciHostBridge::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.size() != 4) return;
  std::lock_guard lock(mutex_);
  std::memcpy(&address_, data.data(), 4);
}

}  // namespace kvmm

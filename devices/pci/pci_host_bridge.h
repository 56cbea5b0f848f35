#pragma once
// PCI configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2) with one
// function behind it: a host bridge at 00:00.0 and nothing else.
//
// kvmm's devices are virtio-mmio, so a Linux guest has no use for PCI; but a
// kernel built with PCI that finds no configuration access method at all
// says so at KERN_ERR on every boot ("PCI: Fatal: No config space access
// function found"), which `quiet` does not hide. Linux takes mechanism #1
// when CONFIG_ADDRESS reads back what was written and bus 0 has a host
// bridge (arch/x86/pci/direct.c, pci_sanity_check); with ACPI it then scans
// only the root bridges the DSDT lists (none), without ACPI bus 0, where it
// finds this bridge alone.
//
//   offset 0-3  CONFIG_ADDRESS (0xcf8): 32-bit accesses only, read back as
//               written; other widths are ignored and read as all ones, as
//               on QEMU's PC (Linux's mechanism #2 probe uses them).
//   offset 4-7  CONFIG_DATA (0xcfc): the register CONFIG_ADDRESS selects,
//               plus the port's offset; all ones unless the enable bit is
//               set and it selects 00:00.0 (and none of AMD's extended
//               registers, bits 27-24). Writes are ignored: the
//               bridge has no BARs and nothing to configure.
//
// Threads: read()/write() come from vCPU threads; `mutex_` guards
// CONFIG_ADDRESS, which a select-then-access pair shares.
#include <array>
#include <cstdint>
#include <mutex>
#include <span>

#include "base/bus/bus_device.h"

namespace kvmm {

class PciHostBridge : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0xcf8;
  static constexpr uint64_t kSize = 8;
  // The IDs cloud-hypervisor's host bridge presents: an Intel ID with no
  // quirk in Linux's PCI code.
  static constexpr uint16_t kVendorId = 0x8086;
  static constexpr uint16_t kDeviceId = 0x0d57;
  // Base class 06 (bridge), subclass 00 (host bridge).
  static constexpr uint32_t kClassCode = 0x060000;

  PciHostBridge();

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  static constexpr uint64_t kDataOffset = 4;

  // The byte of configuration space `address` and `port_byte` (0-3 into
  // CONFIG_DATA) select: all ones where no function is.
  uint8_t config_byte(uint32_t address, uint64_t port_byte) const;

  std::array<uint8_t, 256> config_{};
  mutable std::mutex mutex_;
  uint32_t address_ = 0;
};

}  // namespace kvmm

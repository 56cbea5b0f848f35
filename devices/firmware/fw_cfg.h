#pragma once
// QEMU's firmware configuration device (fw_cfg), its traditional I/O-port
// interface only (QEMU docs/specs/fw_cfg.rst): enough for guests that ask
// the machine how many CPUs and how much RAM it has, as kvm-unit-tests does.
//
// Two byte ports, one bus range of kSize at kPort:
//   selector (offset 0): a 16-bit write selects an item by key and rewinds
//     the read position to its first byte;
//   data (offset 1): each 8-bit read returns the selected item's next byte,
//     and 0 once past its end (or for an unknown key).
// Writes to the data port are ignored (nothing here is writable), and every
// other access reads 0 and changes nothing.
//
// Items: the signature "QEMU", the interface ID (1: traditional interface,
// no DMA, so the guest never looks for the DMA port), RAM size (u64), boot
// and maximum CPU counts (u16), all little-endian, and an empty file
// directory (a big-endian u32 count, as the spec has it).
//
// Threads: vCPU threads; `mutex_` guards the selection and read position.
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "base/bus/bus_device.h"

namespace kvmm {

class FwCfg : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0x510;
  static constexpr uint64_t kSize = 2;
  static constexpr uint64_t kSelectorOffset = 0;
  static constexpr uint64_t kDataOffset = 1;

  // Item keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h).
  static constexpr uint16_t kSignatureKey = 0x00;
  static constexpr uint16_t kIdKey = 0x01;
  static constexpr uint16_t kRamSizeKey = 0x03;
  static constexpr uint16_t kNbCpusKey = 0x05;
  static constexpr uint16_t kMaxCpusKey = 0x0f;
  static constexpr uint16_t kFileDirKey = 0x19;

  static constexpr uint32_t kIdTraditional = 1u << 0;  // No DMA bit (1 << 1).
  // A key bit that asks for the item's write channel; reads ignore it, as
  // QEMU's do. The arch-local bit (0x8000) is part of the key: no such items.
  static constexpr uint16_t kWriteChannelBit = 0x4000;

  struct Config {
    uint16_t cpus = 1;
    uint64_t ram_bytes = 0;
  };
  explicit FwCfg(Config config);

  // The contents of item `key`; empty for a key the device does not have.
  std::span<const uint8_t> item(uint16_t key) const;

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  struct Item {
    uint16_t key;
    std::vector<uint8_t> bytes;
  };
  std::vector<Item> items_;  // Fixed at construction.

  std::mutex mutex_;
  uint16_t selected_ = kSignatureKey;  // Guarded by mutex_.
  uint64_t position_ = 0;              // Guarded by mutex_.
};

}  // namespace kvmm

#include "devices/firmware/fw_cfg.h"

#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <vector>

#include "base/bus/bus.h"

using kvmm::Bus;
using kvmm::FwCfg;

namespace {
// kvm-unit-tests' lib/x86/fwcfg.c: outw(key, 0x510), then `bytes` inb(0x511),
// least significant byte first.
uint64_t read_item(const Bus& pio, uint16_t key, int bytes) {
  const std::array<uint8_t, 2> select{static_cast<uint8_t>(key), static_cast<uint8_t>(key >> 8)};
  REQUIRE(pio.write(FwCfg::kPort, select));
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    std::array<uint8_t, 1> byte{};
    REQUIRE(pio.read(FwCfg::kPort + 1, byte));
    value |= static_cast<uint64_t>(byte[0]) << (8 * i);
  }
  return value;
}

struct FwCfgOnBus {
  explicit FwCfgOnBus(FwCfg::Config config) {
    pio.insert(std::make_shared<FwCfg>(config), FwCfg::kPort, FwCfg::kSize, "fw_cfg");
  }
  Bus pio{Bus::Kind::kPio};
};
}  // namespace

TEST_CASE("fw_cfg answers kvm-unit-tests' CPU and RAM questions through its two ports") {
  const FwCfgOnBus bus(FwCfg::Config{.cpus = 3, .ram_bytes = 0x1'2000'0000});
  const Bus& pio = bus.pio;
  CHECK(read_item(pio, FwCfg::kNbCpusKey, 2) == 3);
  CHECK(read_item(pio, FwCfg::kMaxCpusKey, 2) == 3);
  CHECK(read_item(pio, FwCfg::kRamSizeKey, 8) == 0x1'2000'0000);
  CHECK(read_item(pio, FwCfg::kIdKey, 4) == FwCfg::kIdTraditional);
  CHECK(read_item(pio, FwCfg::kSignatureKey, 4) == 0x554d4551);  // "QEMU"
  CHECK(read_item(pio, FwCfg::kFileDirKey, 4) == 0);
}

TEST_CASE("fw_cfg: selecting rewinds, reads past the end and unknown keys give zeros") {
  const FwCfgOnBus bus(FwCfg::Config{.cpus = 0x0102, .ram_bytes = 0});
  const Bus& pio = bus.pio;
  CHECK(read_item(pio, FwCfg::kNbCpusKey, 4) == 0x0102);  // Two bytes, then zeros.
  CHECK(read_item(pio, FwCfg::kNbCpusKey, 1) == 0x02);    // Rewound by the select.
  CHECK(read_item(pio, 0x0002, 8) == 0);                  // UUID: not provided.
  CHECK(read_item(pio, 0x8000, 4) == 0);                  // Arch-local: none.
  CHECK(read_item(pio, FwCfg::kWriteChannelBit | FwCfg::kNbCpusKey, 2) == 0x0102);
}

TEST_CASE("fw_cfg ignores data writes and accesses of the wrong width or port") {
  FwCfg device(FwCfg::Config{.cpus = 2, .ram_bytes = 0});
  const std::array<uint8_t, 2> select{FwCfg::kNbCpusKey, 0};
  device.write(FwCfg::kSelectorOffset, select);
  const std::array<uint8_t, 1> data_write{0x55};
  device.write(FwCfg::kDataOffset, data_write);  // Not writable: no effect.
  const std::array<uint8_t, 1> byte_select{FwCfg::kSignatureKey};
  device.write(FwCfg::kSelectorOffset, byte_select);  // Not a 16-bit write.
  std::array<uint8_t, 2> wide{};
  device.read(FwCfg::kSelectorOffset, wide);  // Not the data port's byte.
  CHECK(wide == std::array<uint8_t, 2>{0, 0});
  std::array<uint8_t, 1> byte{};
  device.read(FwCfg::kDataOffset, byte);
  CHECK(byte[0] == 2);  // Still NB_CPUS, still at its first byte.
  CHECK(device.item(FwCfg::kFileDirKey).size() == 4);
  CHECK(device.item(0x1234).empty());
}

#include "devices/firmware/fw_cfg.h"

namespace kvmm {

namespace {
std::vector<uint8_t> little_endian(uint64_t value, size_t bytes) {
  std::vector<uint8_t> out(bytes);
  for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
  return out;
}
}  // namespace

FwCfg::FwCfg(Config config) {
  items_.push_back({kSignatureKey, {'Q', 'E', 'M', 'U'}});
  items_.push_back({kIdKey, little_endian(kIdTraditional, 4)});
  items_.push_back({kRamSizeKey, little_endian(config.ram_bytes, 8)});
  items_.push_back({kNbCpusKey, little_endian(config.cpus, 2)});
  items_.push_back({kMaxCpusKey, little_endian(config.cpus, 2)});
  // The directory's count is big-endian (fw_cfg.rst, "File Directory"); zero
  // files reads the same either way, but the layout is the spec's.
  items_.push_back({kFileDirKey, {0, 0, 0, 0}});
}

std::span<const uint8_t> FwCfg::item(uint16_t key) const {
  for (const Item& item : items_) {
    if (item.key == key) return item.bytes;
  }
  return {};
}

void FwCfg::read(uint64_t offset, std::span<uint8_t> data) {
  // Only a byte read of the data port returns item data; the bus has zeroed
  // `data` for everything else.
  if (offset != kDataOffset || data.size() != 1) return;
  std::lock_guard lock(mutex_);
  const std::span<const uint8_t> bytes = item(static_cast<uint16_t>(selected_ & ~kWriteChannelBit));
  if (position_ < bytes.size()) {
    data[0] = bytes[position_];
    ++position_;
  }
}

void FwCfg::write(uint64_t offset, std::span<const uint8_t> data) {
  // A 16-bit write at the selector port; `outw` to kPort, the only way a
  // guest selects. Byte writes (the data port) are ignored.
  if (offset != kSelectorOffset || data.size() != 2) return;
  const uint16_t key = static_cast<uint16_t>(data[0] | (data[1] << 8));  // Guest-controlled.
  std::lock_guard lock(mutex_);
  selected_ = key;
  position_ = 0;
}

}  // namespace kvmm

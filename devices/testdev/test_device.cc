#include "devices/testdev/test_device.h"

#include <cstring>

namespace kvmm {

namespace {
// The bus already guarantees this; checked again because a device must never
// trust its caller with its own buffer bounds.
bool fits(uint64_t offset, size_t size) {
  return offset <= TestDevice::kSize && size <= TestDevice::kSize - offset;
}
}  // namespace

void TestDevice::read(uint64_t offset, std::span<uint8_t> data) {
  if (!fits(offset, data.size())) return;
  std::lock_guard lock(mutex_);
  std::memcpy(data.data(), scratch_.data() + offset, data.size());
}

void TestDevice::write(uint64_t offset, std::span<const uint8_t> data) {
  if (!fits(offset, data.size())) return;
  std::lock_guard lock(mutex_);
  std::memcpy(scratch_.data() + offset, data.data(), data.size());
}

}  // namespace kvmm

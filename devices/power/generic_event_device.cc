#include "devices/power/generic_event_device.h"

#include <cstring>

namespace kvmm {

void GenericEventDevice::notify(uint32_t events) {
  if (events == 0) return;
  std::lock_guard lock(mutex_);
  const bool was_pending = pending_ != 0;
  pending_ |= events;
  if (!was_pending) interrupt_(true);
}

void GenericEventDevice::read(uint64_t offset, std::span<uint8_t> data) {
  // Guest-controlled: offset and width. Only the 4-byte read that _EVT's
  // DWordAcc field makes takes the events; no other access may lose them.
  if (offset != 0 || data.size() != sizeof(uint32_t)) return;
  std::lock_guard lock(mutex_);
  const uint32_t events = pending_;
  std::memcpy(data.data(), &events, sizeof events);  // Little-endian, as x86 and AML.
  pending_ = 0;
  if (events != 0) interrupt_(false);
}

void GenericEventDevice::write(uint64_t, std::span<const uint8_t>) {
  // The register is read-only; _EVT's field is WriteAsZeros and never writes.
}

}  // namespace kvmm

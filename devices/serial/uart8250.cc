#include "devices/serial/uart8250.h"

namespace kvmm {

namespace {

// Register offsets and bits (National Semiconductor PC16550D datasheet).
constexpr uint64_t kRbrThr = 0;  // DLAB=0: receive/transmit; DLAB=1: divisor low
constexpr uint64_t kIer = 1;     // DLAB=0: interrupt enable; DLAB=1: divisor high
constexpr uint64_t kIirFcr = 2;
constexpr uint64_t kLcr = 3;
constexpr uint64_t kMcr = 4;
constexpr uint64_t kLsr = 5;
constexpr uint64_t kMsr = 6;
constexpr uint64_t kScr = 7;

constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrTransmitterEmpty = 0x40;
constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kMcrLoop = 0x10;
// With no modem attached, report carrier, DSR and CTS so drivers do not wait.
constexpr uint8_t kMsrConnected = 0xb0;

}  // namespace

void Uart8250::read(uint64_t offset, std::span<uint8_t> data) {
  // The UART has byte-wide registers; a wider access reads the first only.
  if (data.empty()) return;
  std::lock_guard lock(mutex_);
  data[0] = read_register(offset);
}

void Uart8250::write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  uint8_t transmitted;
  {
    std::lock_guard lock(mutex_);
    const bool is_transmit = offset == kRbrThr && (lcr_ & kLcrDlab) == 0;
    if (!is_transmit || (mcr_ & kMcrLoop) != 0) {
      // In loopback mode transmitted bytes never reach the line.
      if (!is_transmit) write_register(offset, data[0]);
      return;
    }
    transmitted = data[0];
  }
  // Outside the lock: the sink may block on a slow stdout.
  sink_(transmitted);
}

uint8_t Uart8250::read_register(uint64_t offset) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThr: return dlab ? divisor_low_ : 0;  // Nothing received yet.
    case kIer: return dlab ? divisor_high_ : ier_;
    case kIirFcr: return kIirNoInterrupt;
    case kLcr: return lcr_;
    case kMcr: return mcr_;
    case kLsr: return kLsrThrEmpty | kLsrTransmitterEmpty;
    case kMsr: return (mcr_ & kMcrLoop) != 0 ? 0 : kMsrConnected;
    case kScr: return scratch_;
    default: return 0xff;
  }
}

void Uart8250::write_register(uint64_t offset, uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThr:
      divisor_low_ = value;  // Only reached with DLAB set.
      break;
    case kIer:
      if (dlab) {
        divisor_high_ = value;
      } else {
        ier_ = value & 0x0f;  // Upper bits are reserved and read as zero.
      }
      break;
    case kLcr: lcr_ = value; break;
    case kMcr: mcr_ = value & 0x1f; break;
    case kScr: scratch_ = value; break;
    default: break;  // FCR and the read-only LSR/MSR: nothing to store.
  }
}

}  // namespace kvmm

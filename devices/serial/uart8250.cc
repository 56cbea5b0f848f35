#include "devices/serial/uart8250.h"

#include <algorithm>
#include <utility>

namespace kvmm {

namespace {

// Register offsets and bits: National Semiconductor PC16550D datasheet,
// "Summary of Registers" table and the register descriptions after it.
constexpr uint64_t kRbrThr = 0;  // DLAB=0: receive/transmit; DLAB=1: divisor low
constexpr uint64_t kIer = 1;     // DLAB=0: interrupt enable; DLAB=1: divisor high
constexpr uint64_t kIirFcr = 2;  // Read: IIR; write: FCR (DLAB does not matter)
constexpr uint64_t kLcr = 3;
constexpr uint64_t kMcr = 4;
constexpr uint64_t kLsr = 5;
constexpr uint64_t kMsr = 6;
constexpr uint64_t kScr = 7;

constexpr uint8_t kIerReceivedData = 0x01;  // ERBFI
constexpr uint8_t kIerThrEmpty = 0x02;      // ETBEI
constexpr uint8_t kIerLineStatus = 0x04;    // ELSI
constexpr uint8_t kIerModemStatus = 0x08;   // EDSSI
constexpr uint8_t kIerDefined = 0x0f;       // Bits 7:4 are always zero.

constexpr uint8_t kIirFifosEnabled = 0xc0;  // Bits 7:6 set while FCR0 is 1.

constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;
// FCR bit 2 clears the transmit FIFO: ours is always empty. Bits 7:6, the
// receive trigger level, are ignored: data interrupts as soon as one byte is
// in, which Linux handles the same as a trigger or a character timeout.

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMcrDefined = 0x1f;  // Bits 7:5 are always zero.

constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrOverrun = 0x02;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrTransmitterEmpty = 0x40;

constexpr uint8_t kMsrDeltaCts = 0x01;
constexpr uint8_t kMsrDeltaDsr = 0x02;
constexpr uint8_t kMsrTrailingEdgeRi = 0x04;
constexpr uint8_t kMsrDeltaDcd = 0x08;
constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;
// With no modem attached, report carrier, DSR and CTS so drivers do not wait.
constexpr uint8_t kMsrConnected = kMsrDcd | kMsrDsr | kMsrCts;

// Without FIFOs (16450 mode) the receiver holds one byte: RBR alone
// (datasheet, FIFO Control Register, bit 0).
constexpr size_t kRxHoldingCapacity = 1;

}  // namespace

// IIR bits 3:0 for each source. The datasheet's "Interrupt Control
// Functions" table ranks them: line status, received data, THR empty,
// modem status.
enum class Uart8250::Source : uint8_t {
  kNone = 0x01,
  kLineStatus = 0x06,
  kReceivedData = 0x04,
  kThrEmpty = 0x02,
  kModemStatus = 0x00,
};

Uart8250::Uart8250(TransmitSink sink) : Uart8250(std::move(sink), InterruptLine{}) {}

Uart8250::Uart8250(TransmitSink sink, InterruptLine line)
    : sink_(std::move(sink)), line_(std::move(line)) {
  // Power-on modem inputs, without deltas: nothing has changed yet.
  modem_inputs_ = kMsrConnected;
}

void Uart8250::read(uint64_t offset, std::span<uint8_t> data) {
  // The UART has byte-wide registers; a wider access reads the first only.
  if (data.empty()) return;
  Actions actions;
  {
    std::lock_guard lock(mutex_);
    const bool level_before = interrupt_level();
    data[0] = read_register(offset);
    finish_access(level_before, actions);
  }
  announce(actions);
}

void Uart8250::write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  Actions actions;
  {
    std::lock_guard lock(mutex_);
    const bool level_before = interrupt_level();
    write_register(offset, data[0], actions);
    finish_access(level_before, actions);
  }
  announce(actions);
}

size_t Uart8250::receive(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return 0;
  Actions actions;
  size_t accepted = 0;
  {
    std::lock_guard lock(mutex_);
    const bool level_before = interrupt_level();
    if (!loopback()) {
      accepted = std::min(bytes.size(), rx_capacity() - rx_count_);
      for (size_t i = 0; i < accepted; ++i) push_received(bytes[i]);
    }
    if (accepted < bytes.size()) host_waiting_ = true;
    finish_access(level_before, actions);
  }
  announce(actions);
  return accepted;
}

bool Uart8250::rx_has_room() const {
  std::lock_guard lock(mutex_);
  return !loopback() && rx_count_ < rx_capacity();
}

void Uart8250::set_rx_space_callback(RxSpaceCallback callback) {
  std::lock_guard lock(mutex_);
  rx_space_ = std::move(callback);
}

uint8_t Uart8250::read_register(uint64_t offset) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThr: {
      if (dlab) return divisor_low_;
      if (rx_count_ == 0) return 0;
      const uint8_t byte = rx_[rx_head_];
      rx_head_ = (rx_head_ + 1) % rx_.size();
      --rx_count_;
      return byte;
    }
    case kIer: return dlab ? divisor_high_ : ier_;
    case kIirFcr: {
      const Source source = pending_source();
      // Reading IIR clears a THR-empty interrupt only when IIR names it
      // (datasheet, Interrupt Control Functions table, "reset control").
      if (source == Source::kThrEmpty) thr_interrupt_ = false;
      return static_cast<uint8_t>(source) | (fifo_enabled_ ? kIirFifosEnabled : 0);
    }
    case kLcr: return lcr_;
    case kMcr: return mcr_;
    case kLsr: {
      // THR and transmitter are always empty: transmission is instant.
      uint8_t lsr = kLsrThrEmpty | kLsrTransmitterEmpty;
      if (rx_count_ > 0) lsr |= kLsrDataReady;
      if (overrun_) lsr |= kLsrOverrun;
      overrun_ = false;  // Error bits clear when LSR is read (datasheet, Line Status Register).
      return lsr;
    }
    case kMsr: {
      const uint8_t msr = modem_inputs_ | modem_deltas_;
      modem_deltas_ = 0;  // Delta bits clear when MSR is read (datasheet, Modem Status Register).
      return msr;
    }
    case kScr: return scratch_;
    default: return 0xff;
  }
}

void Uart8250::write_register(uint64_t offset, uint8_t value, Actions& actions) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (offset) {
    case kRbrThr:
      if (dlab) {
        divisor_low_ = value;
      } else {
        transmit(value, actions);
      }
      break;
    case kIer:
      if (dlab) {
        divisor_high_ = value;
      } else {
        write_ier(value);
      }
      break;
    case kIirFcr: write_fcr(value); break;
    case kLcr: lcr_ = value; break;
    case kMcr: write_mcr(value); break;
    case kScr: scratch_ = value; break;
    default: break;  // LSR and MSR are read-only.
  }
}

void Uart8250::write_ier(uint8_t value) {
  const uint8_t previous = ier_;
  ier_ = value & kIerDefined;
  // Enabling ETBEI while THR is empty raises the THR-empty interrupt at once.
  // The datasheet only implies it, but every 16550 does it and Linux's
  // startup probe (the UART_BUG_THRE/TXEN tests) and start_tx depend on it:
  // they toggle IER.ETBEI and expect IIR to say "THR empty".
  const bool was_enabled = (previous & kIerThrEmpty) != 0;
  const bool enabled = (ier_ & kIerThrEmpty) != 0;
  if (enabled && !was_enabled) thr_interrupt_ = true;
  if (!enabled) thr_interrupt_ = false;
}

void Uart8250::write_fcr(uint8_t value) {
  const bool enable = (value & kFcrEnable) != 0;
  // Changing FCR0 resets both FIFOs (datasheet, FIFO Control Register, bit 0).
  if (enable != fifo_enabled_) clear_rx();
  fifo_enabled_ = enable;
  // The other FCR bits act only while FCR0 is written as 1.
  if (enable && (value & kFcrClearRx) != 0) clear_rx();
}

void Uart8250::write_mcr(uint8_t value) {
  mcr_ = value & kMcrDefined;
  update_modem_inputs();
}

void Uart8250::transmit(uint8_t byte, Actions& actions) {
  if (loopback()) {
    // Loop mode feeds the transmitter into the receiver (datasheet, Modem
    // Control Register, bit 4); nothing reaches the line.
    push_received(byte);
  } else {
    actions.transmit = byte;
  }
  // Writing THR clears the THR-empty interrupt, but the byte leaves at once
  // and THR is empty again, which raises it anew.
  if ((ier_ & kIerThrEmpty) != 0) thr_interrupt_ = true;
}

void Uart8250::push_received(uint8_t byte) {
  if (rx_count_ == rx_capacity()) {
    // Only loopback gets here: receive() never offers more than fits.
    // FIFO mode keeps the queue and loses the new byte; 16450 mode
    // overwrites the unread one (datasheet, Line Status Register, bit 1).
    overrun_ = true;
    if (fifo_enabled_) return;
    rx_count_ = 0;
  }
  rx_[(rx_head_ + rx_count_) % rx_.size()] = byte;
  ++rx_count_;
}

void Uart8250::clear_rx() {
  rx_head_ = 0;
  rx_count_ = 0;
}

void Uart8250::update_modem_inputs() {
  uint8_t inputs = kMsrConnected;
  if (loopback()) {
    // Loop mode wires the modem control outputs to the modem status inputs:
    // DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD (datasheet, Modem Control Register, bit 4).
    inputs = 0;
    if ((mcr_ & kMcrDtr) != 0) inputs |= kMsrDsr;
    if ((mcr_ & kMcrRts) != 0) inputs |= kMsrCts;
    if ((mcr_ & kMcrOut1) != 0) inputs |= kMsrRi;
    if ((mcr_ & kMcrOut2) != 0) inputs |= kMsrDcd;
  }
  const uint8_t changed = inputs ^ modem_inputs_;
  if ((changed & kMsrCts) != 0) modem_deltas_ |= kMsrDeltaCts;
  if ((changed & kMsrDsr) != 0) modem_deltas_ |= kMsrDeltaDsr;
  if ((changed & kMsrDcd) != 0) modem_deltas_ |= kMsrDeltaDcd;
  // TERI marks only the trailing edge of RI, from on to off (datasheet,
  // Modem Status Register, bit 2).
  if ((modem_inputs_ & kMsrRi) != 0 && (inputs & kMsrRi) == 0) {
    modem_deltas_ |= kMsrTrailingEdgeRi;
  }
  modem_inputs_ = inputs;
}

Uart8250::Source Uart8250::pending_source() const {
  if ((ier_ & kIerLineStatus) != 0 && overrun_) return Source::kLineStatus;
  if ((ier_ & kIerReceivedData) != 0 && rx_count_ > 0) return Source::kReceivedData;
  if ((ier_ & kIerThrEmpty) != 0 && thr_interrupt_) return Source::kThrEmpty;
  if ((ier_ & kIerModemStatus) != 0 && modem_deltas_ != 0) return Source::kModemStatus;
  return Source::kNone;
}

bool Uart8250::interrupt_level() const {
  // On the PC the UART's INTR pin reaches the interrupt controller only
  // through a buffer enabled by the OUT2 pin (IBM PC Asynchronous
  // Communications Adapter). Linux's 8250 driver raises OUT2 whenever the
  // port has an IRQ ("Most PC uarts need OUT2 raised to enable interrupts"),
  // so gating like the hardware costs a Linux guest nothing and keeps firmware
  // that probes with OUT2 low from seeing interrupts real PCs never deliver.
  // In loop mode the OUT2 pin is forced inactive (datasheet, MCR bit 4), so the
  // gate closes even though IIR still reports the source.
  if ((mcr_ & kMcrOut2) == 0 || loopback()) return false;
  return pending_source() != Source::kNone;
}

void Uart8250::finish_access(bool level_before, Actions& actions) {
  actions.line_changed = interrupt_level() != level_before;
  // Owe the host one wake-up once the receiver is empty and listening again.
  // Waiting for empty rather than one free byte batches the refill.
  if (host_waiting_ && !loopback() && rx_count_ == 0) {
    host_waiting_ = false;
    actions.rx_space = true;
  }
}

void Uart8250::announce(const Actions& actions) {
  if (actions.transmit && sink_) sink_(*actions.transmit);
  if (actions.line_changed) sync_line();
  if (actions.rx_space) {
    RxSpaceCallback callback;
    {
      // Copied so that a concurrent set_rx_space_callback() cannot destroy it
      // mid-call. Rare: only after the host was refused.
      std::lock_guard lock(mutex_);
      callback = rx_space_;
    }
    if (callback) callback();
  }
}

void Uart8250::sync_line() {
  if (!line_) return;
  // Whoever changed the level syncs; reading the level afresh here, not
  // passing the one seen under the earlier lock, makes the last call report
  // the latest state even when two threads' syncs run in the other order.
  std::lock_guard line_lock(line_mutex_);
  bool level;
  {
    std::lock_guard lock(mutex_);
    level = interrupt_level();
  }
  if (level == line_reported_) return;
  line_reported_ = level;
  line_(level);
}

bool Uart8250::loopback() const { return (mcr_ & kMcrLoop) != 0; }

size_t Uart8250::rx_capacity() const {
  return fifo_enabled_ ? kRxFifoCapacity : kRxHoldingCapacity;
}

}  // namespace kvmm

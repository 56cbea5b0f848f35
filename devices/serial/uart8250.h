#pragma once
// A 16550A UART (as at COM1, 0x3f8) as Linux's 8250 driver drives it: the
// register model of the National Semiconductor PC16550D datasheet, with an
// instant transmitter, a receive FIFO the host fills, and an interrupt output.
//
// Separate from the bus, from any host fd and from how the interrupt reaches
// the guest: tested with a string sink and a fake interrupt line.
//
// Threading. read()/write() come from vCPU threads, receive()/rx_has_room()
// from the host side (the console's poll loop); all may run at once. `mutex_` guards every
// register. The callbacks never run under it: each access collects what it
// must announce under the lock and announces it after, in this order:
//   1. the transmit sink (the byte the guest wrote to THR),
//   2. the interrupt line (only if its level changed),
//   3. the rx-space callback (the guest drained a FIFO the host was blocked on).
// So a byte has left before the interrupt saying THR is empty again is seen,
// and a slow stdout or an ioctl never holds up another vCPU's register access.
// Interrupt-line calls are serialized by `line_mutex_`, and each reads the
// level current at that moment: the last call always matches the registers,
// however accesses on different threads interleave. The line callback must
// therefore not call back into this UART. Sink calls are not serialized: bytes
// keep the order of THR writes because a guest serializes its own writes and
// each write() returns only after its sink call.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

#include "base/bus/bus_device.h"

namespace kvmm {

class Uart8250 : public BusDevice {
 public:
  using TransmitSink = std::function<void(uint8_t)>;
  // Called with the new level of the interrupt output each time it changes
  // (level-triggered: asserted while any enabled interrupt is pending and the
  // PC's OUT2 gate is open). Starts deasserted; never called with an unchanged level.
  using InterruptLine = std::function<void(bool asserted)>;
  using RxSpaceCallback = std::function<void()>;

  static constexpr uint64_t kRegisterCount = 8;
  // Receive FIFO depth while FCR enables FIFOs; without them (16450 mode,
  // the power-on state) the receiver holds one byte. Deeper than the
  // 16550A's 16 bytes so the host wakes less often. A guest cannot tell:
  // host bytes are refused rather than overrun, and Linux reads while LSR.DR
  // is set. Only loopback overruns show the depth.
  static constexpr size_t kRxFifoCapacity = 64;

  explicit Uart8250(TransmitSink sink);
  Uart8250(TransmitSink sink, InterruptLine line);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Host side, any thread. Queues bytes for the guest and returns how many
  // fit; the caller keeps the rest and retries after the rx-space callback.
  // Nothing is dropped here. Refuses everything in loopback mode, where the
  // datasheet disconnects the serial input.
  size_t receive(std::span<const uint8_t> bytes);
  bool rx_has_room() const;
  // Called (outside the lock, on the vCPU thread that caused it) once after a
  // receive() that could not take everything, when the receiver can take
  // bytes again: the guest emptied the FIFO or left loopback mode. Any thread
  // may set or clear it; a call already under way finishes with the old copy.
  void set_rx_space_callback(RxSpaceCallback callback);

 private:
  enum class Source : uint8_t;  // Interrupt sources, by IIR identification code.

  // What an access must announce once the lock is dropped.
  struct Actions {
    std::optional<uint8_t> transmit;
    bool line_changed = false;  // Level differs from before the access.
    bool rx_space = false;
  };

  uint8_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint8_t value, Actions& actions);
  void write_ier(uint8_t value);
  void write_fcr(uint8_t value);
  void write_mcr(uint8_t value);
  void transmit(uint8_t byte, Actions& actions);
  void push_received(uint8_t byte);
  void clear_rx();
  void update_modem_inputs();
  Source pending_source() const;
  bool interrupt_level() const;
  void finish_access(bool level_before, Actions& actions);
  void announce(const Actions& actions);
  void sync_line();

  bool loopback() const;
  size_t rx_capacity() const;

  const TransmitSink sink_;
  const InterruptLine line_;

  mutable std::mutex mutex_;  // Guards everything below up to line_mutex_.
  RxSpaceCallback rx_space_;
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0x03;  // 8N1, the value firmware leaves.
  uint8_t mcr_ = 0;
  uint8_t scratch_ = 0;
  uint8_t divisor_low_ = 0x0c;  // 9600 baud; only stored, never used.
  uint8_t divisor_high_ = 0;
  bool fifo_enabled_ = false;
  bool thr_interrupt_ = false;  // THRE interrupt pending (see write_ier, transmit).
  bool overrun_ = false;        // LSR.OE until LSR is read.
  uint8_t modem_inputs_ = 0;    // MSR bits 7:4 as last seen.
  uint8_t modem_deltas_ = 0;    // MSR bits 3:0 until MSR is read.
  std::array<uint8_t, kRxFifoCapacity> rx_{};
  size_t rx_head_ = 0;
  size_t rx_count_ = 0;
  bool host_waiting_ = false;  // receive() refused bytes; owe an rx-space call.

  std::mutex line_mutex_;       // Serializes line_ calls; taken before mutex_.
  bool line_reported_ = false;  // Guarded by line_mutex_.
};

}  // namespace kvmm

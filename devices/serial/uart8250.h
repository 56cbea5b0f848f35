#pragma once
// The register model of an 8250/16550A UART (as at COM1, 0x3f8), transmit
// side: bytes the guest writes to THR go to a sink; line status always says
// "transmitter empty", since the sink never blocks the guest. Receive and
// interrupts come with the interactive console.
//
// Separate from the bus and from any host fd: tested with a string sink.
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "vmm/bus/bus_device.h"

namespace kvmm {

class Uart8250 : public BusDevice {
 public:
  using TransmitSink = std::function<void(uint8_t)>;
  static constexpr uint64_t kRegisterCount = 8;

  explicit Uart8250(TransmitSink sink) : sink_(std::move(sink)) {}

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  uint8_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint8_t value);

  std::mutex mutex_;  // Guards the registers: any vCPU may touch the UART.
  TransmitSink sink_;
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0x03;  // 8N1, the power-on value firmware leaves.
  uint8_t mcr_ = 0;
  uint8_t scratch_ = 0;
  uint8_t divisor_low_ = 0x0c;  // 9600 baud; only stored, never used.
  uint8_t divisor_high_ = 0;
};

}  // namespace kvmm

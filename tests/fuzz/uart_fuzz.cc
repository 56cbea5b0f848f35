// libFuzzer target for the 16550A UART (devices/serial/uart8250.h): guest
// register reads and writes of any offset, size and value, interleaved with
// host bytes offered to the receiver.
//
// Input: a sequence of operations, each a kind byte then its operands:
//   kind % 4 == 0: read  register (kind >> 2) % 8
//   kind % 4 == 1: write register (kind >> 2) % 8, value = next byte
//   kind % 4 == 2: host receive() of the next (kind >> 2) % 32 + 1 bytes
//   kind % 4 == 3: a value byte, then an access of (kind >> 2) % 4 bytes
//                  (0 to 3) at register 0, a write when bit 4 is set, to
//                  reach the zero-length and wide paths
//
// Beyond the sanitizers, it checks what the header and the unit tests pin:
// - the line callback is only called with a changed level;
// - every IIR read names one source the datasheet defines, and the line's
//   level just before it is "a source is pending and OUT2 opens the gate"
//   (closed in loopback mode);
// - receive() takes no more than it is offered, and refuses bytes only when
//   the receiver then has no room;
// - at the end the receiver holds at most its FIFO's size (64 bytes with
//   FIFOs enabled, one byte without).
//
// Build and run: tools/fuzz uart --seconds 60 (seeds in tests/fuzz/corpus/uart,
// written by tests/fuzz/make_seeds.py).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "devices/serial/uart8250.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using kvmm::Uart8250;

// A broken promise is a bug: stop with a crash libFuzzer records.
void expect(bool condition) {
  if (!condition) __builtin_trap();
}

constexpr uint64_t kIer = 1;
constexpr uint64_t kIir = 2;
constexpr uint64_t kLcr = 3;
constexpr uint64_t kMcr = 4;
constexpr uint64_t kLsr = 5;
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kIirFifosEnabled = 0xc0;

using Input = kvmm::fuzz::Input;

struct Line {
  bool level = false;
  void set(bool asserted) {
    expect(asserted != level);  // Never called with an unchanged level.
    level = asserted;
  }
};

uint8_t read_register(Uart8250& uart, uint64_t offset) {
  uint8_t value = 0;
  uart.read(offset, std::span<uint8_t>(&value, 1));
  return value;
}

void write_register(Uart8250& uart, uint64_t offset, uint8_t value) {
  uart.write(offset, std::span<const uint8_t>(&value, 1));
}

// Reads IIR and checks it against the line level from just before the read.
void read_iir(Uart8250& uart, const Line& line) {
  const bool level_before = line.level;
  const uint8_t mcr = read_register(uart, kMcr);  // No side effect.
  const uint8_t iir = read_register(uart, kIir);
  const uint8_t id = iir & 0x0f;
  // No source (1), line status (6), received data (4), THR empty (2),
  // modem status (0); bits 4-5 read as zero.
  expect(id == 0x01 || id == 0x06 || id == 0x04 || id == 0x02 || id == 0x00);
  expect((iir & 0x30) == 0);
  const bool gate_open = (mcr & kMcrOut2) != 0 && (mcr & kMcrLoop) == 0;
  expect(level_before == (gate_open && id != 0x01));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Line line;
  size_t transmitted = 0;
  Uart8250 uart([&](uint8_t) { ++transmitted; }, [&](bool asserted) { line.set(asserted); });
  Input in{data, size};
  std::vector<uint8_t> bytes;
  while (!in.empty()) {
    const uint8_t kind = in.byte();
    const uint64_t offset = (kind >> 2) % Uart8250::kRegisterCount;
    switch (kind % 4) {
      case 0:
        if (offset == kIir) {
          read_iir(uart, line);
        } else {
          (void)read_register(uart, offset);
        }
        break;
      case 1:
        write_register(uart, offset, in.byte());
        break;
      case 2: {
        bytes.resize((kind >> 2) % 32 + 1);
        for (uint8_t& b : bytes) b = in.byte();
        const size_t accepted = uart.receive(bytes);
        expect(accepted <= bytes.size());
        if (accepted < bytes.size()) expect(!uart.rx_has_room());
        break;
      }
      default: {
        uint8_t wide[3] = {in.byte(), 0, 0};
        const size_t length = (kind >> 2) % 4;
        if ((kind >> 4) & 1) {
          uart.write(0, std::span<const uint8_t>(wide, length));
        } else {
          uart.read(0, std::span<uint8_t>(wide, length));
        }
        break;
      }
    }
  }
  // Drain the receiver: with DLAB clear, RBR while LSR.DR says data is ready.
  const uint8_t lcr = read_register(uart, kLcr);
  write_register(uart, kLcr, lcr & 0x7f);
  const bool fifo = (read_register(uart, kIir) & kIirFifosEnabled) == kIirFifosEnabled;
  const size_t capacity = fifo ? Uart8250::kRxFifoCapacity : 1;
  size_t held = 0;
  while ((read_register(uart, kLsr) & kLsrDataReady) != 0) {
    expect(++held <= capacity);
    (void)read_register(uart, 0);
  }
  // Drained: with the receiver empty and interrupts off, the line is low.
  write_register(uart, kIer, 0);
  expect(!line.level);
  return 0;
}

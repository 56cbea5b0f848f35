#include "devices/serial/uart8250.h"

#include <catch2/catch.hpp>

#include <array>
#include <string>

using kvmm::Uart8250;

namespace {

struct Uart {
  std::string sent;
  Uart8250 uart{[this](uint8_t byte) { sent.push_back(static_cast<char>(byte)); }};

  void out(uint64_t reg, uint8_t value) {
    std::array<uint8_t, 1> b{value};
    uart.write(reg, b);
  }
  uint8_t in(uint64_t reg) {
    std::array<uint8_t, 1> b{};
    uart.read(reg, b);
    return b[0];
  }
};

}  // namespace

TEST_CASE("UART sends bytes written to THR to the sink") {
  Uart u;
  for (char c : std::string("hi\n")) u.out(0, static_cast<uint8_t>(c));
  CHECK(u.sent == "hi\n");
}

TEST_CASE("UART reports the transmitter empty so drivers never wait") {
  Uart u;
  CHECK((u.in(5) & 0x60) == 0x60);  // LSR: THRE | TEMT
  CHECK(u.in(2) == 0x01);           // IIR: no interrupt pending
}

TEST_CASE("UART divisor latch: with DLAB set, offsets 0 and 1 are the divisor, not THR") {
  Uart u;
  u.out(3, 0x80);  // LCR.DLAB
  u.out(0, 0x01);
  u.out(1, 0x00);
  CHECK(u.sent.empty());
  CHECK(u.in(0) == 0x01);
  u.out(3, 0x03);  // 8N1, DLAB off
  CHECK(u.in(3) == 0x03);
  u.out(0, 'x');
  CHECK(u.sent == "x");
  CHECK(u.in(1) == 0x00);  // IER untouched by the divisor write.
}

TEST_CASE("UART scratch register holds a value and IER keeps only its defined bits") {
  Uart u;
  u.out(7, 0xa5);
  CHECK(u.in(7) == 0xa5);
  u.out(1, 0xff);
  CHECK(u.in(1) == 0x0f);
}

TEST_CASE("UART in loopback mode sends nothing to the line") {
  Uart u;
  u.out(4, 0x10);  // MCR.LOOP
  u.out(0, 'x');
  CHECK(u.sent.empty());
}

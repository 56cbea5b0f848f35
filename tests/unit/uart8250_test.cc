#include "devices/serial/uart8250.h"

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/test_files.h"

using kvmm::Uart8250;

namespace {

struct Uart {
  std::string sent;
  Uart8250 uart{[this](uint8_t byte) { sent.push_back(static_cast<char>(byte)); }};

  void out(uint64_t reg, uint8_t value) { kvmm::testing::write_register(uart, reg, value); }
  uint8_t in(uint64_t reg) { return kvmm::testing::read_register(uart, reg); }
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

namespace {

// Register offsets and bits the tests drive, named as in the PC16550D datasheet.
constexpr uint64_t kRbr = 0, kThr = 0, kIer = 1, kIir = 2, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5,
                   kMsr = 6;
constexpr uint8_t kErbfi = 0x01, kEtbei = 0x02, kElsi = 0x04, kEdssi = 0x08;
constexpr uint8_t kOut2 = 0x08, kLoop = 0x10;
constexpr uint8_t kFifoEnable = 0x01;
constexpr uint8_t kIirNone = 0x01, kIirLineStatus = 0x06, kIirReceived = 0x04, kIirThrEmpty = 0x02,
                  kIirModemStatus = 0x00, kIirFifoBits = 0xc0;

// A UART wired to a string sink and an interrupt line that records every call.
struct WiredUart {
  std::string sent;
  std::vector<bool> levels;
  Uart8250 uart{[this](uint8_t byte) { sent.push_back(static_cast<char>(byte)); },
                [this](bool asserted) { levels.push_back(asserted); }};

  void out(uint64_t reg, uint8_t value) { kvmm::testing::write_register(uart, reg, value); }
  uint8_t in(uint64_t reg) { return kvmm::testing::read_register(uart, reg); }
  bool asserted() const { return !levels.empty() && levels.back(); }
  size_t receive(std::string_view text) {
    return uart.receive(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  // What Linux's 8250 startup leaves: FIFOs on, OUT2 open.
  void linux_setup() {
    out(kFcr, kFifoEnable);
    out(kMcr, 0x0b);  // DTR | RTS | OUT2
  }
};

}  // namespace

TEST_CASE("UART raises THRE on enabling ETBEI, clears it on IIR read, re-raises it on THR write") {
  WiredUart u;
  u.linux_setup();
  CHECK(u.levels.empty());
  u.out(kIer, kEtbei);
  CHECK(u.asserted());
  CHECK(u.in(kIir) == (kIirThrEmpty | kIirFifoBits));
  CHECK_FALSE(u.asserted());
  CHECK(u.in(kIir) == (kIirNone | kIirFifoBits));
  u.out(kThr, 'a');
  CHECK(u.sent == "a");
  CHECK(u.asserted());
  // Disabling ETBEI withdraws it; enabling again raises it again (Linux's THRE probe).
  u.out(kIer, 0);
  CHECK_FALSE(u.asserted());
  u.out(kIer, kEtbei);
  CHECK(u.asserted());
  CHECK(u.levels == std::vector<bool>{true, false, true, false, true});
}

TEST_CASE("UART re-raises THRE on each THR write without toggling an asserted line") {
  WiredUart u;
  u.linux_setup();
  u.out(kIer, kEtbei);
  for (char c : std::string("abc")) u.out(kThr, static_cast<uint8_t>(c));
  CHECK(u.sent == "abc");
  CHECK(u.levels == std::vector<bool>{true});
  CHECK(u.in(kIir) == (kIirThrEmpty | kIirFifoBits));
}

TEST_CASE("UART received-data interrupt stays raised until the last byte is read") {
  WiredUart u;
  u.linux_setup();
  u.out(kIer, kErbfi);
  CHECK_FALSE(u.asserted());
  CHECK(u.receive("hi") == 2);
  CHECK(u.asserted());
  CHECK((u.in(kLsr) & 0x01) == 0x01);  // DR
  CHECK(u.in(kIir) == (kIirReceived | kIirFifoBits));
  CHECK(u.in(kRbr) == 'h');
  CHECK(u.asserted());
  CHECK(u.in(kRbr) == 'i');
  CHECK_FALSE(u.asserted());
  CHECK((u.in(kLsr) & 0x01) == 0);
  CHECK(u.in(kIir) == (kIirNone | kIirFifoBits));
}

TEST_CASE("UART IIR reports the highest-priority pending interrupt first") {
  WiredUart u;
  u.linux_setup();
  // Loop mode makes every source reachable from the guest side: an overrun
  // (line status), data, THR empty and modem status deltas.
  u.out(kMcr, kLoop | kOut2);
  u.out(kIer, kErbfi | kEtbei | kElsi | kEdssi);
  for (size_t i = 0; i <= Uart8250::kRxFifoCapacity; ++i) u.out(kThr, 'x');
  CHECK(u.in(kIir) == (kIirLineStatus | kIirFifoBits));
  CHECK((u.in(kLsr) & 0x03) == 0x03);  // DR | OE; reading LSR clears OE.
  CHECK(u.in(kIir) == (kIirReceived | kIirFifoBits));
  for (size_t i = 0; i < Uart8250::kRxFifoCapacity; ++i) CHECK(u.in(kRbr) == 'x');
  CHECK(u.in(kIir) == (kIirThrEmpty | kIirFifoBits));  // Read clears THRE...
  CHECK(u.in(kIir) == (kIirModemStatus | kIirFifoBits));
  CHECK(u.in(kMsr) != 0);  // ...and reading MSR clears the deltas.
  CHECK(u.in(kIir) == (kIirNone | kIirFifoBits));
  // The loop-mode gate kept the line low throughout (OUT2 pin forced inactive).
  CHECK(u.levels.empty());
}

TEST_CASE("UART line status outranks received data, which outranks THR empty, on the line too") {
  WiredUart u;
  u.linux_setup();
  u.out(kIer, kErbfi | kEtbei);
  CHECK(u.receive("z") == 1);
  CHECK(u.in(kIir) == (kIirReceived | kIirFifoBits));
  // THRE was not the reported source, so that IIR read left it pending.
  CHECK(u.in(kRbr) == 'z');
  CHECK(u.asserted());
  CHECK(u.in(kIir) == (kIirThrEmpty | kIirFifoBits));
  CHECK_FALSE(u.asserted());
}

TEST_CASE("UART refuses what does not fit its FIFO and asks for more once drained") {
  WiredUart u;
  u.linux_setup();
  int space_calls = 0;
  u.uart.set_rx_space_callback([&space_calls] { ++space_calls; });
  const std::string input(100, 'k');
  CHECK(u.receive(input) == Uart8250::kRxFifoCapacity);
  CHECK_FALSE(u.uart.rx_has_room());
  CHECK(u.receive("more") == 0);
  for (size_t i = 0; i + 1 < Uart8250::kRxFifoCapacity; ++i) u.in(kRbr);
  CHECK(u.uart.rx_has_room());
  CHECK(space_calls == 0);  // Not yet empty.
  u.in(kRbr);
  CHECK(space_calls == 1);
  CHECK((u.in(kLsr) & 0x02) == 0);  // Host bytes never overrun.
  u.in(kRbr);  // Reading an empty FIFO owes nothing more.
  CHECK(space_calls == 1);
}

TEST_CASE("UART without FIFOs holds one received byte") {
  WiredUart u;
  CHECK(u.in(kIir) == kIirNone);  // No FIFO bits until FCR enables them.
  CHECK(u.receive("ab") == 1);
  CHECK(u.in(kRbr) == 'a');
  CHECK(u.receive("b") == 1);
  u.out(kFcr, kFifoEnable);  // Changing FCR0 resets the FIFOs.
  CHECK((u.in(kLsr) & 0x01) == 0);
}

TEST_CASE("UART FCR clears the receive FIFO and wakes a waiting host") {
  WiredUart u;
  u.linux_setup();
  int space_calls = 0;
  u.uart.set_rx_space_callback([&space_calls] { ++space_calls; });
  const std::string input(Uart8250::kRxFifoCapacity + 1, 'q');
  CHECK(u.receive(input) == Uart8250::kRxFifoCapacity);
  u.out(kFcr, kFifoEnable | 0x02);
  CHECK((u.in(kLsr) & 0x01) == 0);
  CHECK(space_calls == 1);
}

TEST_CASE("UART loopback returns transmitted bytes and maps MCR to MSR") {
  WiredUart u;
  u.linux_setup();
  CHECK((u.in(kMsr) & 0xf0) == 0xb0);  // DCD, DSR, CTS with no modem.
  // Linux's probe: LOOP | OUT2 | RTS must read back as DCD | CTS.
  u.out(kMcr, kLoop | kOut2 | 0x02);
  CHECK((u.in(kMsr) & 0xf0) == 0x90);
  u.out(kMcr, kLoop | 0x01 | 0x04);  // DTR -> DSR, OUT1 -> RI
  CHECK(u.in(kMsr) == (0x20 | 0x40 | 0x0b));  // DSR | RI; CTS, DSR and DCD changed
  u.out(kMcr, kLoop);
  CHECK(u.in(kMsr) == (0x02 | 0x04));  // DSR dropped; RI's trailing edge
  u.out(kThr, 'L');
  CHECK(u.sent.empty());
  CHECK(u.in(kLsr) & 0x01);
  CHECK(u.in(kRbr) == 'L');
  CHECK(u.receive("h") == 0);  // The serial input is disconnected in loop mode.
  u.out(kMcr, kOut2);
  CHECK(u.receive("h") == 1);
}

TEST_CASE("UART divisor latch hides THR, RBR and IER while DLAB is set") {
  WiredUart u;
  u.linux_setup();
  u.out(kIer, kErbfi);
  CHECK(u.receive("r") == 1);
  u.out(kLcr, 0x83);
  CHECK(u.in(kRbr) == 0x0c);  // Divisor low, the power-on 9600 baud.
  u.out(kThr, 0x01);
  u.out(kIer, 0x00);  // Divisor high, not IER.
  CHECK(u.sent.empty());
  CHECK(u.in(kRbr) == 0x01);
  CHECK(u.in(kIir) == (kIirReceived | kIirFifoBits));  // IIR ignores DLAB.
  u.out(kLcr, 0x03);
  CHECK(u.in(kIer) == kErbfi);
  CHECK(u.in(kRbr) == 'r');
}

TEST_CASE("UART asserts nothing while IER is zero") {
  WiredUart u;
  u.linux_setup();
  CHECK(u.receive("abc") == 3);
  u.out(kThr, 'x');
  u.out(kMcr, kLoop);
  u.out(kMcr, kOut2);
  CHECK(u.in(kIir) == (kIirNone | kIirFifoBits));
  CHECK(u.levels.empty());
}

TEST_CASE("UART interrupt is gated by MCR OUT2 as on the PC") {
  WiredUart u;
  u.out(kIer, kEtbei);
  CHECK(u.levels.empty());
  CHECK(u.in(kIir) == kIirThrEmpty);  // Pending inside the UART all the same.
  u.out(kThr, 'x');
  u.out(kMcr, kOut2);
  CHECK(u.levels == std::vector<bool>{true});
  u.out(kMcr, 0);
  CHECK(u.levels == std::vector<bool>{true, false});
}

TEST_CASE("UART calls the interrupt line only when its level changes") {
  WiredUart u;
  u.linux_setup();
  u.out(kIer, kErbfi | kEtbei);
  CHECK(u.receive("a") == 1);
  CHECK(u.receive("b") == 1);
  u.in(kIir);
  u.in(kRbr);
  u.in(kRbr);
  u.out(kThr, '1');
  u.in(kIir);
  u.in(kIir);
  u.out(kIer, kErbfi);
  u.out(kIer, kErbfi);
  CHECK(u.levels == std::vector<bool>{true, false});
  for (size_t i = 1; i < u.levels.size(); ++i) CHECK(u.levels[i] != u.levels[i - 1]);
}

TEST_CASE("UART keeps a consistent line level under concurrent host input and guest reads",
          "[threads]") {
  // Checked on this thread afterwards: Catch2 assertions are not thread-safe.
  std::atomic<bool> level{false};
  std::atomic<int> calls{0};
  std::atomic<int> repeated_levels{0};
  Uart8250 uart([](uint8_t) {}, [&](bool asserted) {
    if (level.exchange(asserted) == asserted) ++repeated_levels;
    ++calls;
  });
  std::array<uint8_t, 1> b{kFifoEnable};
  uart.write(kFcr, b);
  b[0] = kOut2;
  uart.write(kMcr, b);
  b[0] = kErbfi;
  uart.write(kIer, b);
  constexpr int kBytes = 5000;
  std::thread host([&uart] {
    const std::array<uint8_t, 1> byte{'h'};
    for (int sent = 0; sent < kBytes;) sent += static_cast<int>(uart.receive(byte));
  });
  int read = 0;
  while (read < kBytes) {
    std::array<uint8_t, 1> lsr{};
    uart.read(kLsr, lsr);
    if ((lsr[0] & 0x01) == 0) continue;
    std::array<uint8_t, 1> rbr{};
    uart.read(kRbr, rbr);
    ++read;
  }
  host.join();
  CHECK(repeated_levels.load() == 0);
  CHECK_FALSE(level.load());  // Everything read: the line ends low.
  CHECK(calls.load() >= 2);
}

namespace {

// A fake guest driver doing what Linux's 8250 driver does to a 16550A, step
// by step: the probe (autoconfig), port startup and the interrupt handler.
struct FakeLinuxDriver {
  explicit FakeLinuxDriver(WiredUart& uart) : u(uart) {}

  WiredUart& u;
  std::string received;

  // Autoconfig: IER must hold exactly its four bits, FCR0 must show 0xc0 in
  // IIR, and none of the extended-UART probes may match.
  void probe() {
    u.out(kIer, 0);
    CHECK((u.in(kIer) & 0x0f) == 0);
    u.out(kIer, 0x0f);
    CHECK((u.in(kIer) & 0x0f) == 0x0f);
    u.out(kIer, 0);
    u.out(kLcr, 0xbf);           // Configuration mode B: EFR would sit at offset 2.
    CHECK(u.in(kIir) != 0);      // No EFR: IIR answers, never 0 here.
    u.out(kLcr, 0);
    u.out(kFcr, kFifoEnable);
    CHECK((u.in(kIir) >> 6) == 3);  // A 16550A.
    u.out(kFcr, kFifoEnable | 0x20);  // 16750's 64-byte FIFO bit
    CHECK((u.in(kIir) & 0xe0) == 0xc0);
    u.out(kFcr, 0);
    u.out(kIer, 0x40);           // XScale's UUE bit must not stick.
    CHECK((u.in(kIer) & 0x40) == 0);
    u.out(kIer, 0);
  }

  void startup() {
    u.out(kFcr, kFifoEnable);
    u.out(kFcr, kFifoEnable | 0x06);  // Clear both FIFOs.
    u.out(kFcr, 0);
    CHECK(u.in(kLsr) != 0xff);
    u.in(kRbr);
    u.in(kIir);
    u.in(kMsr);
    u.out(kLcr, 0x03);
    u.out(kMcr, 0x0b);  // DTR | RTS | OUT2: Linux opens the PC's IRQ gate.
    // The THRE test: THRE must be re-raised each time ETBEI is enabled.
    u.out(kIer, kEtbei);
    CHECK((u.in(kIir) & kIirNone) == 0);
    u.out(kIer, 0);
    u.out(kIer, kEtbei);
    CHECK((u.in(kIir) & kIirNone) == 0);
    u.out(kIer, 0);
    // The TXEN test.
    u.out(kIer, kEtbei);
    CHECK((u.in(kLsr) & 0x40) != 0);
    CHECK((u.in(kIir) & kIirNone) == 0);
    u.out(kIer, 0);
    u.in(kLsr);
    u.in(kRbr);
    u.in(kIir);
    u.in(kMsr);
    u.out(kIer, kErbfi | kElsi);
    // set_termios: FIFOs with an 8-byte trigger, 115200 baud.
    u.out(kFcr, kFifoEnable | 0x80);
    u.out(kLcr, 0x83);
    u.out(kRbr, 1);
    u.out(kIer, 0);
    u.out(kLcr, 0x03);
  }

  // Starts transmitting as serial8250_start_tx does, leaving the rest to interrupts.
  std::string pending_tx;
  void write(std::string_view text) {
    pending_tx.append(text);
    if ((u.in(kIer) & kEtbei) == 0) u.out(kIer, u.in(kIer) | kEtbei);
  }

  // serial8250_interrupt: handle until IIR says nothing is pending.
  void interrupt() {
    for (int pass = 0; pass < 64; ++pass) {
      const uint8_t iir = u.in(kIir);
      if ((iir & kIirNone) != 0) return;
      const uint8_t lsr = u.in(kLsr);
      if ((lsr & 0x01) != 0) {
        while ((u.in(kLsr) & 0x01) != 0) received.push_back(static_cast<char>(u.in(kRbr)));
      }
      u.in(kMsr);
      if ((lsr & 0x20) != 0 && (u.in(kIer) & kEtbei) != 0) {
        for (int count = 0; count < 16 && !pending_tx.empty(); ++count) {
          u.out(kThr, static_cast<uint8_t>(pending_tx.front()));
          pending_tx.erase(0, 1);
        }
        if (pending_tx.empty()) u.out(kIer, u.in(kIer) & ~kEtbei);
      }
    }
    FAIL("the interrupt never cleared");
  }

  // Runs the handler while rising edges arrive: IRQ 4 is edge-triggered on
  // the PC, so a line left high with no new edge would stall the driver.
  void deliver(size_t& edges_seen) {
    for (int round = 0; round < 1000; ++round) {
      size_t rising = 0;
      for (size_t i = edges_seen; i < u.levels.size(); ++i) rising += u.levels[i] ? 1 : 0;
      edges_seen = u.levels.size();
      if (rising == 0) return;
      interrupt();
    }
    FAIL("interrupts kept coming");
  }
};

}  // namespace

TEST_CASE("UART passes Linux's 8250 probe and startup as an interrupt-driven 16550A") {
  WiredUart u;
  FakeLinuxDriver linux_driver(u);
  linux_driver.probe();
  linux_driver.startup();
  CHECK_FALSE(u.asserted());
  size_t edges = u.levels.size();

  // Output longer than the 16-byte bursts the driver writes per interrupt.
  const std::string banner = "Debian GNU/Linux 12 kvmm-guest ttyS0\r\n";
  linux_driver.write(banner);
  linux_driver.deliver(edges);
  CHECK(u.sent == banner);
  CHECK(linux_driver.pending_tx.empty());
  CHECK_FALSE(u.asserted());

  // Input, including more than the FIFO holds, offered as the console would.
  std::string typed(150, 'k');
  typed += "\r";
  std::string_view left = typed;
  while (!left.empty()) {
    left.remove_prefix(u.receive(left));
    linux_driver.deliver(edges);
  }
  CHECK(linux_driver.received == typed);
  CHECK_FALSE(u.asserted());
}

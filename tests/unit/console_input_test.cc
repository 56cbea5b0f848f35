#include "vmm/console/console_input.h"

#include <poll.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/test_files.h"

#include "base/util/unique_fd.h"
#include "devices/serial/uart8250.h"

using kvmm::ConsoleInput;
using kvmm::Uart8250;
using kvmm::UniqueFd;

namespace {

constexpr uint64_t kRbr = 0, kIer = 1, kFcr = 2, kMcr = 4, kLsr = 5;
constexpr uint8_t kLsrDataReady = 0x01;

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
  void write(std::string_view text) {
    REQUIRE(::write(write_end.get(), text.data(), text.size()) ==
            static_cast<ssize_t>(text.size()));
  }
};

// A UART set up as Linux leaves it (FIFOs on, OUT2, receive interrupts),
// with a fake interrupt line, fed from a pipe.
struct Console {
  Pipe pipe;
  std::vector<bool> levels;
  Uart8250 uart{[](uint8_t) {}, [this](bool asserted) { levels.push_back(asserted); }};
  int quits = 0;
  std::string shown;
  ConsoleInput input{pipe.read_end.get(), uart, [this] { ++quits; },
                     [this](std::string_view text) { shown.append(text); }};

  Console() {
    out(kFcr, 0x01);
    out(kMcr, 0x0b);
    out(kIer, 0x01);
  }
  void out(uint64_t reg, uint8_t value) { kvmm::testing::write_register(uart, reg, value); }
  uint8_t in(uint64_t reg) { return kvmm::testing::read_register(uart, reg); }
  std::string drain() {
    std::string got;
    while ((in(kLsr) & kLsrDataReady) != 0) got.push_back(static_cast<char>(in(kRbr)));
    return got;
  }
  bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }
};

}  // namespace

TEST_CASE("Console input delivers bytes from the pipe to RBR and raises the interrupt") {
  Console c;
  c.pipe.write("echo hi\r");
  REQUIRE(c.input.wants_input());
  c.input.on_readable();
  CHECK(c.levels == std::vector<bool>{true});
  CHECK(c.drain() == "echo hi\r");
  CHECK(c.levels == std::vector<bool>{true, false});
  CHECK(c.input.wants_input());
  CHECK(c.quits == 0);
}

TEST_CASE("Console input quits on Ctrl-A x after delivering what came before") {
  Console c;
  c.pipe.write("ab\x01xcd");
  c.input.on_readable();
  CHECK(c.quits == 1);
  CHECK_FALSE(c.input.wants_input());
  CHECK(c.drain() == "ab");
}

TEST_CASE("Console input handles an escape split across reads and shows help") {
  Console c;
  c.pipe.write("a\x01");
  c.input.on_readable();
  c.pipe.write("h\x01\x01");
  c.input.on_readable();
  CHECK(c.drain() == "a\x01");
  CHECK(c.shown.find("Ctrl-A x") != std::string::npos);
  c.pipe.write("\x01");
  c.input.on_readable();
  c.pipe.write("x");
  c.input.on_readable();
  CHECK(c.quits == 1);
}

TEST_CASE("Console input stops reading at end of input without quitting") {
  Console c;
  c.pipe.write("last");
  c.pipe.write_end.reset();
  c.input.on_readable();
  CHECK(c.input.wants_input());
  c.input.on_readable();
  CHECK(c.input.input_ended());
  CHECK_FALSE(c.input.wants_input());
  CHECK(c.quits == 0);
  CHECK(c.drain() == "last");
}

TEST_CASE("Console input holds refused bytes and resumes when the guest drains the FIFO") {
  Console c;
  std::string input;
  for (int i = 0; i < 1000; ++i) input.push_back(static_cast<char>('a' + i % 26));
  c.pipe.write(input);
  std::string received;
  // Single-threaded: each step is the poll loop's or the guest's turn.
  for (int round = 0; round < 1000 && received.size() < input.size(); ++round) {
    if (c.input.wants_input() && c.readable(c.input.input_fd())) {
      c.input.on_readable();
      // 256 bytes read, 64 fit: the rest waits and the pipe is left alone.
      CHECK_FALSE(c.input.wants_input());
    }
    CHECK_FALSE(c.readable(c.input.space_fd()));
    received += c.drain();
    if (c.readable(c.input.space_fd())) c.input.on_space();
  }
  CHECK(received == input);
}

TEST_CASE("Console input keeps order with nothing lost while a guest thread drains RBR",
          "[threads]") {
  Console c;
  constexpr size_t kBytes = 1000;
  std::string input;
  // Printable, so no byte is an escape and a failure prints readably.
  for (size_t i = 0; i < kBytes; ++i) input.push_back(static_cast<char>(' ' + i % 95));
  c.pipe.write(input);

  std::atomic<bool> done{false};
  std::string received;
  std::thread guest([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (received.size() < kBytes && std::chrono::steady_clock::now() < deadline) {
      std::array<uint8_t, 1> b{};
      c.uart.read(kLsr, b);
      if ((b[0] & kLsrDataReady) == 0) {
        std::this_thread::yield();
        continue;
      }
      c.uart.read(kRbr, b);
      received.push_back(static_cast<char>(b[0]));
    }
    done = true;
  });
  // The machine's poll loop, in miniature.
  while (!done) {
    std::array<pollfd, 2> fds{{{c.input.space_fd(), POLLIN, 0},
                               {c.input.wants_input() ? c.input.input_fd() : -1, POLLIN, 0}}};
    REQUIRE(::poll(fds.data(), fds.size(), 10) >= 0);
    if (fds[0].revents != 0) c.input.on_space();
    if (fds[1].revents != 0) c.input.on_readable();
  }
  guest.join();
  CHECK(received.size() == kBytes);
  CHECK(received == input);
  CHECK(c.quits == 0);
}

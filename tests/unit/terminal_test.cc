#include "vmm/console/terminal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <iterator>

#include "base/util/error.h"
#include "base/util/unique_fd.h"

using kvmm::RawTerminal;
using kvmm::UniqueFd;

namespace {

// A pseudo-terminal pair; valid() is false where the host has none.
struct PseudoTerminal {
  UniqueFd controller;
  UniqueFd terminal;

  PseudoTerminal() {
    controller.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!controller.valid()) return;
    if (::grantpt(controller.get()) != 0 || ::unlockpt(controller.get()) != 0) return;
    const char* name = ::ptsname(controller.get());
    if (name == nullptr) return;
    terminal.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  }
  bool valid() const { return terminal.valid(); }
};

termios mode_of(int fd) {
  termios mode{};
  REQUIRE(::tcgetattr(fd, &mode) == 0);
  return mode;
}

bool same_mode(const termios& a, const termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag &&
         a.c_lflag == b.c_lflag && std::equal(std::begin(a.c_cc), std::end(a.c_cc), b.c_cc) &&
         ::cfgetispeed(&a) == ::cfgetispeed(&b) && ::cfgetospeed(&a) == ::cfgetospeed(&b);
}

}  // namespace

TEST_CASE("Raw terminal does nothing to an fd that is not a terminal") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  RawTerminal raw(read_end.get());
  CHECK_FALSE(raw.active());
  raw.restore();
  RawTerminal::restore_saved();
  CHECK_FALSE(raw.active());
}

TEST_CASE("Raw terminal switches a pseudo-terminal to raw input and restores it exactly") {
  PseudoTerminal pty;
  if (!pty.valid()) {
    WARN("no pseudo-terminal on this host; raw mode not exercised");
    return;
  }
  const termios before = mode_of(pty.terminal.get());
  REQUIRE((before.c_lflag & ICANON) != 0);  // A fresh pty starts cooked.
  {
    RawTerminal raw(pty.terminal.get());
    CHECK(raw.active());
    const termios during = mode_of(pty.terminal.get());
    CHECK((during.c_lflag & (ICANON | ECHO | ISIG | IEXTEN)) == 0);
    CHECK((during.c_iflag & (ICRNL | IXON)) == 0);
    CHECK((during.c_cflag & CSIZE) == CS8);
    CHECK(during.c_cc[VMIN] == 1);
    CHECK(during.c_cc[VTIME] == 0);
    CHECK(during.c_oflag == before.c_oflag);  // Output processing kept.
  }
  CHECK(same_mode(mode_of(pty.terminal.get()), before));
}

TEST_CASE("Raw terminal restore is idempotent and the static restore runs at most once") {
  PseudoTerminal pty;
  if (!pty.valid()) {
    WARN("no pseudo-terminal on this host; raw mode not exercised");
    return;
  }
  const termios before = mode_of(pty.terminal.get());
  RawTerminal raw(pty.terminal.get());
  // The signal-path restore puts the mode back...
  RawTerminal::restore_saved();
  CHECK(same_mode(mode_of(pty.terminal.get()), before));
  // ...after which neither path applies it again over a later change.
  termios changed = before;
  changed.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  REQUIRE(::tcsetattr(pty.terminal.get(), TCSANOW, &changed) == 0);
  RawTerminal::restore_saved();
  raw.restore();
  raw.restore();
  CHECK_FALSE(raw.active());
  CHECK((mode_of(pty.terminal.get()).c_lflag & ECHO) == 0);
  // The slot is free again for the next raw terminal.
  RawTerminal again(pty.terminal.get());
  CHECK(again.active());
}

TEST_CASE("Raw terminal refuses a second active raw terminal") {
  PseudoTerminal pty;
  if (!pty.valid()) {
    WARN("no pseudo-terminal on this host; raw mode not exercised");
    return;
  }
  const termios before = mode_of(pty.terminal.get());
  RawTerminal first(pty.terminal.get());
  CHECK_THROWS_AS(RawTerminal(pty.terminal.get()), kvmm::Error);
  first.restore();
  CHECK(same_mode(mode_of(pty.terminal.get()), before));
}

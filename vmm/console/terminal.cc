#include "vmm/console/terminal.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "base/util/error.h"
#include "base/util/log.h"

namespace kvmm {

namespace {

// The mode restore_saved() puts back. `g_saved_mode` is written before
// `g_saved_fd` is published (release) and read after it is claimed (acquire),
// so a signal handler never sees a half-written termios.
termios g_saved_mode{};
std::atomic<int> g_saved_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free, "restore_saved() must stay async-signal-safe");

bool set_mode(int fd, const termios& mode) {
  while (::tcsetattr(fd, TCSANOW, &mode) != 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

termios raw_input_mode(termios mode) {
  // Like cfmakeraw() but leaving c_oflag alone (see the header for why).
  mode.c_iflag &= ~static_cast<tcflag_t>(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL |
                                         IXON | IXOFF);
  mode.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  mode.c_cflag &= ~static_cast<tcflag_t>(CSIZE | PARENB);
  mode.c_cflag |= CS8;
  // read() returns as soon as one byte is there, with no timer.
  mode.c_cc[VMIN] = 1;
  mode.c_cc[VTIME] = 0;
  return mode;
}

}  // namespace

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (::isatty(fd) == 0) return;
  if (::tcgetattr(fd, &saved_) != 0) {
    throw_errno("reading the terminal mode of fd " + std::to_string(fd) + " failed");
  }
  // Reserve the slot (-2), fill it, then publish the fd before changing the
  // mode: a signal at any point restores either nothing or the mode the
  // terminal still has, never leaves raw mode behind.
  int expected = -1;
  if (!g_saved_fd.compare_exchange_strong(expected, -2, std::memory_order_acq_rel)) {
    throw Error("a raw terminal is already active (fd " + std::to_string(expected) +
                "): restore it before switching fd " + std::to_string(fd));
  }
  g_saved_mode = saved_;
  g_saved_fd.store(fd, std::memory_order_release);
  if (!set_mode(fd, raw_input_mode(saved_))) {
    const int saved_errno = errno;
    expected = fd;
    g_saved_fd.compare_exchange_strong(expected, -1, std::memory_order_acq_rel);
    throw_errno("switching fd " + std::to_string(fd) +
                    " to raw mode failed; run kvmm with stdin redirected from a file or pipe",
                saved_errno);
  }
  active_ = true;
}

RawTerminal::~RawTerminal() { restore(); }

void RawTerminal::restore() noexcept {
  if (!active_) return;
  active_ = false;
  // Claim the saved mode so restore_saved() will not apply it a second time
  // (it may already have, from a signal handler: then there is nothing to do).
  int expected = fd_;
  if (!g_saved_fd.compare_exchange_strong(expected, -1, std::memory_order_acq_rel)) return;
  if (!set_mode(fd_, saved_)) {
    log_line("restoring the terminal mode failed; run `stty sane` to repair the terminal");
  }
}

void RawTerminal::restore_saved() noexcept {
  int fd = g_saved_fd.load(std::memory_order_acquire);
  // Negative: nothing saved, or a constructor is still filling the slot.
  if (fd < 0) return;
  if (!g_saved_fd.compare_exchange_strong(fd, -1, std::memory_order_acq_rel)) return;
  set_mode(fd, g_saved_mode);
}

}  // namespace kvmm

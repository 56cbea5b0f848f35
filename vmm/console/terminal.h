#pragma once
// Puts the host terminal in raw mode while the guest owns the console, and
// puts it back however kvmm ends.
//
// Raw input, cooked output, as QEMU's stdio backend does. Input: no line
// editing, no echo, no signals, no flow control, no CR/NL translation, 8 bits,
// one byte at a time (POSIX termios, "Non-Canonical Mode Input Processing"):
// every key, Ctrl-C included, goes to the guest; Ctrl-A x quits. Output: the
// user's OPOST/ONLCR settings stay, so kvmm's own diagnostics on stderr, which
// end lines with \n, do not staircase. The guest's tty already sends \r\n;
// ONLCR makes that \r\r\n, which a terminal shows the same.
//
// If the fd is not a terminal (a pipe in tests and scripts) it does nothing.
#include <termios.h>

namespace kvmm {

class RawTerminal {
 public:
  // Throws Error if `fd` is a terminal whose mode cannot be read or set.
  // At most one RawTerminal may be active at a time (restore_saved() restores one).
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  // True while raw mode is applied by this object.
  bool active() const { return active_; }
  // Restores the saved mode; later calls do nothing.
  void restore() noexcept;

  // Restores the mode saved by the active RawTerminal, if any, at most once.
  // Async-signal-safe (tcsetattr and a lock-free atomic only), for a fatal
  // signal handler or atexit(): a crashing kvmm must not leave the shell raw.
  static void restore_saved() noexcept;

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

}  // namespace kvmm

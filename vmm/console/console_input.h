#pragma once
// Forwards host input (stdin) to the guest's UART, with QEMU's Ctrl-A escapes
// and without losing a byte when the guest reads slower than the user types
// or pastes.
//
// Driven by the machine's poll loop on the main thread; nothing here blocks:
//   - poll input_fd() for POLLIN only while wants_input(); on any revents
//     (POLLIN, POLLHUP, POLLERR) call on_readable();
//   - always poll space_fd() for POLLIN; when readable call on_space().
// Bytes the UART refuses wait in a pending buffer (at most kReadChunk bytes)
// and input_fd() is not read again until the guest has drained its FIFO: the
// UART's rx-space callback (on a vCPU thread) makes space_fd() readable. So
// backpressure reaches the host pipe or terminal, and order is kept.
//
// End of input (a pipe's writer closed it) or a read error stops reading, not
// the guest: a guest may run on after its input ends. Only Ctrl-A x quits.
//
// Threading: every member function runs on one thread, the poll loop's. The
// only cross-thread path is the UART's rx-space callback, which just signals
// an eventfd that the callback co-owns, so a late call after destruction is
// harmless.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "base/util/unique_fd.h"
#include "devices/serial/uart8250.h"
#include "vmm/console/escape_parser.h"

namespace kvmm {

class ConsoleInput {
 public:
  using QuitCallback = std::function<void()>;
  // Shows text to the user on the host terminal (the help screen).
  using HostMessage = std::function<void(std::string_view)>;

  // Bytes read per on_readable(), hence the bound on the pending buffer.
  static constexpr size_t kReadChunk = 256;

  // Takes over `uart`'s rx-space callback until destroyed; `uart` must
  // outlive this object. `input_fd` is borrowed, not closed, and its flags are
  // left alone (O_NONBLOCK on stdin would leak to the user's shell): call
  // on_readable() only after poll() reported it ready. Throws Error if the
  // eventfd cannot be created.
  ConsoleInput(int input_fd, Uart8250& uart, QuitCallback on_quit, HostMessage show = {});
  ~ConsoleInput();
  ConsoleInput(const ConsoleInput&) = delete;
  ConsoleInput& operator=(const ConsoleInput&) = delete;

  int input_fd() const { return input_fd_; }
  int space_fd() const { return space_event_->get(); }
  // Whether to poll input_fd(): not after end of input or quit, nor while
  // earlier bytes still wait for room in the UART.
  bool wants_input() const { return !input_ended_ && !quit_ && pending_.empty(); }
  bool input_ended() const { return input_ended_; }
  // Reads up to kReadChunk bytes, handles escapes and feeds the UART.
  void on_readable();
  // The guest drained the UART: retries the pending bytes.
  void on_space();

 private:
  void feed_pending();

  const int input_fd_;
  Uart8250& uart_;
  const QuitCallback on_quit_;
  const HostMessage show_;
  // Shared with the UART's rx-space callback; see the threading note above.
  std::shared_ptr<UniqueFd> space_event_;
  EscapeParser parser_;
  std::vector<uint8_t> pending_;  // Accepted from the host, refused by the UART so far.
  bool input_ended_ = false;
  bool quit_ = false;
};

}  // namespace kvmm

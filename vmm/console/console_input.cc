#include "vmm/console/console_input.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "base/util/error.h"
#include "base/util/log.h"

namespace kvmm {

ConsoleInput::ConsoleInput(int input_fd, Uart8250& uart, QuitCallback on_quit, HostMessage show)
    : input_fd_(input_fd),
      uart_(uart),
      on_quit_(std::move(on_quit)),
      show_(std::move(show)),
      space_event_(std::make_shared<UniqueFd>(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))) {
  if (!space_event_->valid()) throw_errno("creating the console input eventfd failed");
  pending_.reserve(kReadChunk);
  uart_.set_rx_space_callback([event = space_event_] {
    // Runs on a vCPU thread. Cannot fail short of the counter overflowing,
    // and then the eventfd is readable anyway.
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(event->get(), &one, sizeof(one));
  });
}

ConsoleInput::~ConsoleInput() { uart_.set_rx_space_callback(nullptr); }

void ConsoleInput::on_readable() {
  if (!wants_input()) return;
  std::array<uint8_t, kReadChunk> buffer;
  const ssize_t count = ::read(input_fd_, buffer.data(), buffer.size());
  if (count < 0) {
    // A spurious wake-up; poll will report the fd again.
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return;
    log_line(std::string("reading console input failed: ") + std::strerror(errno) +
             "; the guest gets no more input, Ctrl-A x no longer works, stop kvmm with SIGTERM");
    input_ended_ = true;
    return;
  }
  if (count == 0) {
    input_ended_ = true;
    return;
  }
  const EscapeResult result = parser_.feed(std::span(buffer.data(), static_cast<size_t>(count)));
  if (result.help && show_) show_(EscapeParser::help_text());
  pending_.insert(pending_.end(), result.to_guest.begin(), result.to_guest.end());
  feed_pending();
  if (result.quit) {
    quit_ = true;
    if (on_quit_) on_quit_();
  }
}

void ConsoleInput::on_space() {
  // Consume the wake-up first: one that arrives after this read is for a
  // later refusal and will wake the loop again.
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t got = ::read(space_event_->get(), &count, sizeof(count));
  feed_pending();
}

void ConsoleInput::feed_pending() {
  if (pending_.empty()) return;
  const size_t accepted = uart_.receive(pending_);
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(accepted));
}

}  // namespace kvmm

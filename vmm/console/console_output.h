#pragma once
// The guest's console output (COM1) on its way to the host's stdout, without
// ever blocking a vCPU: a stalled reader of stdout (a pipe nobody reads, a
// terminal on Ctrl-S) must not freeze the guest, nor leave kvmm deaf to
// SIGTERM while a vCPU sits in write().
//
// A vCPU appends bytes to a bounded buffer and returns; the poll loop on the
// main thread writes them out:
//   - always poll wake_fd() for POLLIN; on revents call on_wake();
//   - poll output_fd() for POLLOUT only while wants_output(); on revents call
//     on_writable(), which writes at most PIPE_BUF bytes, so a write after
//     POLLOUT on a blocking pipe never blocks (POSIX write(), "Pipes or FIFOs").
// The output fd's flags are left alone (O_NONBLOCK on stdout would leak to
// the user's shell). Bytes that find the buffer full are dropped and
// counted: dropped() for the report at exit.
//
// Threads: append() is called on vCPU threads (the UART's output callback,
// under the UART's mutex); every other member on the poll loop's thread.
// mutex_ guards buffer_ and dropped_.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>

#include "base/util/event_fd.h"

namespace kvmm {

class ConsoleOutput {
 public:
  static constexpr size_t kDefaultCapacity = size_t{1} << 20;

  // `output_fd` is borrowed, not closed. Throws Error if the eventfd cannot
  // be created.
  explicit ConsoleOutput(int output_fd, size_t capacity = kDefaultCapacity);
  ConsoleOutput(const ConsoleOutput&) = delete;
  ConsoleOutput& operator=(const ConsoleOutput&) = delete;

  // Any thread; never blocks on the output fd.
  void append(std::string_view bytes);
  void append(uint8_t byte) { append(std::string_view(reinterpret_cast<const char*>(&byte), 1)); }

  int wake_fd() const { return wake_.get(); }
  int output_fd() const { return output_fd_; }
  // Whether bytes wait and the output still takes them.
  bool wants_output() const;
  void on_wake() { wake_.consume(); }
  // Writes up to PIPE_BUF buffered bytes; call after POLLOUT (or any revents).
  void on_writable();
  // At exit, with no appender left: writes what is buffered while the reader
  // takes it, waiting at most `stall_ms` for each chunk; what is left after a
  // stall counts as dropped.
  void flush(int stall_ms);

  uint64_t dropped() const;

 private:
  const int output_fd_;
  const size_t capacity_;
  EventFd wake_;
  mutable std::mutex mutex_;
  std::deque<char> buffer_;  // Guarded by mutex_.
  uint64_t dropped_ = 0;     // Guarded by mutex_.
  bool broken_ = false;      // Poll loop only: the fd refused a write (EPIPE, EIO).
};

}  // namespace kvmm

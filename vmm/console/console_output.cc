#include "vmm/console/console_output.h"

#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace kvmm {

ConsoleOutput::ConsoleOutput(int output_fd, size_t capacity)
    : output_fd_(output_fd), capacity_(capacity) {}

void ConsoleOutput::append(std::string_view bytes) {
  bool was_empty;
  {
    std::lock_guard lock(mutex_);
    was_empty = buffer_.empty();
    const size_t room = capacity_ - buffer_.size();
    const size_t taken = std::min(room, bytes.size());
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(taken));
    dropped_ += bytes.size() - taken;
  }
  // Only the first byte after the writer emptied the buffer wakes it: one
  // eventfd write per burst, not per byte.
  if (was_empty && !bytes.empty()) wake_.signal();
}

bool ConsoleOutput::wants_output() const {
  if (broken_) return false;
  std::lock_guard lock(mutex_);
  return !buffer_.empty();
}

void ConsoleOutput::on_writable() {
  if (broken_) return;
  char chunk[PIPE_BUF];
  size_t count;
  {
    std::lock_guard lock(mutex_);
    count = std::min(buffer_.size(), sizeof chunk);
    std::copy_n(buffer_.begin(), count, chunk);
  }
  if (count == 0) return;
  const ssize_t written = ::write(output_fd_, chunk, count);
  if (written < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    // stdout closed (EPIPE: `kvmm run … | head`) or failed: the guest's
    // output ends here, as it always did; the guest runs on.
    broken_ = true;
    std::lock_guard lock(mutex_);
    buffer_.clear();
    return;
  }
  std::lock_guard lock(mutex_);
  buffer_.erase(buffer_.begin(), buffer_.begin() + written);
}

void ConsoleOutput::flush(int stall_ms) {
  while (wants_output()) {
    pollfd out{output_fd_, POLLOUT, 0};
    const int ready = ::poll(&out, 1, stall_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      // Nobody reads stdout: what is left is dropped, and reported.
      std::lock_guard lock(mutex_);
      dropped_ += buffer_.size();
      buffer_.clear();
      return;
    }
    on_writable();
  }
}

uint64_t ConsoleOutput::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

}  // namespace kvmm

#pragma once
// An eventfd: a counter other threads (or KVM, through ioeventfd/irqfd) can
// signal and a poll loop can wait on. Non-blocking, close-on-exec.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "base/util/error.h"
#include "base/util/unique_fd.h"

namespace kvmm {

class EventFd {
 public:
  // Throws Error when the kernel refuses (fd limit).
  EventFd() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!fd_.valid()) throw_errno("eventfd failed");
  }

  int get() const { return fd_.get(); }

  void signal() const {
    const uint64_t one = 1;
    // EAGAIN means the counter is saturated: the reader is woken anyway.
    while (::write(fd_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
    }
  }

  // Returns the count accumulated since the last consume (0 when none).
  uint64_t consume() const {
    uint64_t count = 0;
    while (::read(fd_.get(), &count, sizeof(count)) < 0) {
      if (errno != EINTR) return 0;
    }
    return count;
  }

 private:
  UniqueFd fd_;
};

}  // namespace kvmm

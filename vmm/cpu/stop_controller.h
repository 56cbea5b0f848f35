#pragma once
// The VM-wide stop request. Any thread (a vCPU that hit a debug-exit write or a
// crash, the main thread on SIGTERM) may ask to stop; the first request wins
// and its outcome is what kvmm reports. The main thread waits on fd().
#include <atomic>
#include <mutex>
#include <optional>

#include "base/util/unique_fd.h"
#include "vmm/cpu/run_outcome.h"

namespace kvmm {

class StopController {
 public:
  StopController();

  void request_stop(RunOutcome outcome);
  bool stop_requested() const { return requested_.load(std::memory_order_acquire); }
  // An eventfd, readable once a stop was requested.
  int fd() const { return event_.get(); }
  RunOutcome outcome() const;

 private:
  std::atomic<bool> requested_{false};
  mutable std::mutex mutex_;  // Guards outcome_.
  std::optional<RunOutcome> outcome_;
  UniqueFd event_;
};

}  // namespace kvmm

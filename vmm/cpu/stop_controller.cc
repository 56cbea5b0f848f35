#include "vmm/cpu/stop_controller.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "base/util/error.h"

namespace kvmm {

StopController::StopController() : event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!event_.valid()) throw_errno("eventfd failed");
}

void StopController::request_stop(RunOutcome outcome) {
  {
    std::lock_guard lock(mutex_);
    if (outcome_) return;  // The first reason to stop is the one reported.
    outcome_ = std::move(outcome);
  }
  requested_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  // Cannot fail short of a kvmm bug: the counter never comes near overflow.
  [[maybe_unused]] ssize_t n = ::write(event_.get(), &one, sizeof one);
}

RunOutcome StopController::outcome() const {
  std::lock_guard lock(mutex_);
  return outcome_.value_or(RunOutcome{});
}

}  // namespace kvmm

#include "base/util/rate_limited_log.h"

#include "base/util/log.h"

namespace kvmm {

RateLimitedLog::RateLimitedLog(std::string prefix, Sink sink, Now now)
    : prefix_(std::move(prefix)), sink_(sink ? std::move(sink) : Sink(log_line)), now_(now) {}

RateLimitedLog::~RateLimitedLog() {
  std::lock_guard lock(mutex_);
  flush_locked();
}

void RateLimitedLog::flush_locked() {
  if (suppressed_ == 0) return;
  sink_(prefix_ + std::to_string(suppressed_) + " similar messages suppressed");
  suppressed_ = 0;
}

void RateLimitedLog::roll_window_locked(Clock::time_point now) {
  if (window_open_ && now - window_start_ < kInterval) return;
  flush_locked();
  window_open_ = true;
  window_start_ = now;
  in_window_ = 0;
}

void RateLimitedLog::log(std::string_view message, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  roll_window_locked(now);
  if (in_window_ < kBurst) {
    ++in_window_;
    sink_(prefix_ + std::string(message));
  } else {
    ++suppressed_;
  }
}

void RateLimitedLog::suppress(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  roll_window_locked(now);
  ++suppressed_;
}

}  // namespace kvmm

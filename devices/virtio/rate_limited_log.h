#pragma once
// Log lines for events a guest can cause at will (bad requests, failing host
// I/O): at most kBurst lines per second, then a count of what was dropped,
// so a hostile or broken guest cannot flood stderr. One instance per device;
// used from its I/O thread only.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/util/log.h"

namespace kvmm {

class RateLimitedLog {
 public:
  static constexpr unsigned kBurst = 5;

  explicit RateLimitedLog(std::string prefix) : prefix_(std::move(prefix)) {}

  void log(std::string_view message) {
    const auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= std::chrono::seconds(1)) {
      if (suppressed_ > 0) {
        log_line(prefix_ + std::to_string(suppressed_) + " similar messages suppressed");
      }
      window_start_ = now;
      in_window_ = 0;
      suppressed_ = 0;
    }
    if (in_window_ < kBurst) {
      ++in_window_;
      log_line(prefix_ + std::string(message));
    } else {
      ++suppressed_;
    }
  }

 private:
  std::string prefix_;
  std::chrono::steady_clock::time_point window_start_{};
  unsigned in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace kvmm

#pragma once
// kvmm's one logger for events a guest can cause at will (bad requests,
// unhandled ports, malformed rings, failing host I/O under guest load), so a
// hostile or broken guest cannot flood stderr.
//
// The policy: per source (one instance, usually one per device), the first
// kBurst lines of each kInterval are logged; the rest are counted, and the
// count is logged as one "N similar messages suppressed" line at the first
// message after the interval ends and when the source is destroyed (at exit).
//
// Threads: any; a mutex serialises the bookkeeping and the lines (the bus is
// shared by every vCPU thread). Only guest faults reach here, never a hot path.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace kvmm {

class RateLimitedLog {
 public:
  using Clock = std::chrono::steady_clock;
  using Sink = std::function<void(std::string_view)>;
  // Where "now" comes from: the steady clock, or a frozen one in tests, so a
  // test's lines never straddle an interval however slow the machine is.
  using Now = Clock::time_point (*)();
  static constexpr unsigned kBurst = 5;
  static constexpr Clock::duration kInterval = std::chrono::seconds(1);

  // Each line is `prefix` + the message; `sink` (log_line by default, a
  // string buffer in tests) receives it.
  explicit RateLimitedLog(std::string prefix, Sink sink = {}, Now now = Clock::now);
  ~RateLimitedLog();  // Logs the pending suppressed count, if any.
  RateLimitedLog(const RateLimitedLog&) = delete;
  RateLimitedLog& operator=(const RateLimitedLog&) = delete;

  void log(std::string_view message) { log(message, now_()); }
  void log(std::string_view message, Clock::time_point now);
  // Counts an event the caller chose not to describe (e.g. beyond a bound on
  // what it remembers) as suppressed.
  void suppress() { suppress(now_()); }
  void suppress(Clock::time_point now);

 private:
  void roll_window_locked(Clock::time_point now);
  void flush_locked();

  const std::string prefix_;
  const Sink sink_;
  const Now now_;
  std::mutex mutex_;  // Guards the four below.
  bool window_open_ = false;
  Clock::time_point window_start_{};
  unsigned in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace kvmm

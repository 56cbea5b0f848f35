#include "vmm/machine/boot_trace.h"

#include <time.h>

#include <cstdio>

#include "base/util/log.h"

namespace kvmm {

namespace {
// Initialized while the program loads, before main(): the closest cheap
// stand-in for "process start".
const std::chrono::steady_clock::time_point kProcessStart = std::chrono::steady_clock::now();

// CPU time of every thread of the process so far, exec included (the kernel
// counts from the fork), in milliseconds; -1 if the clock is unavailable.
double process_cpu_ms() {
  timespec ts{};
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return -1.0;
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}
}  // namespace

std::string format_boot_trace_line(double wall_ms, double cpu_ms, std::string_view phase) {
  char line[160];
  if (cpu_ms < 0) {
    std::snprintf(line, sizeof line, "boot-trace %9.3f ms %9s ms CPU  %.*s", wall_ms, "-",
                  static_cast<int>(phase.size()), phase.data());
  } else {
    std::snprintf(line, sizeof line, "boot-trace %9.3f ms %9.3f ms CPU  %.*s", wall_ms, cpu_ms,
                  static_cast<int>(phase.size()), phase.data());
  }
  return line;
}

std::string boot_marker_phase(uint8_t value) {
  switch (value) {
    case 1:
      return "guest: init started";
    case 2:
      return "guest: modules loaded";
    case 3:
      return "guest: ready";
    default:
      return "guest marker " + std::to_string(value);
  }
}

void BootTrace::mark(const std::string& phase) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double cpu_ms = process_cpu_ms();
  {
    std::lock_guard lock(mutex_);
    if (!seen_.insert(phase).second) return;
  }
  const double ms = std::chrono::duration<double, std::milli>(now - kProcessStart).count();
  log_line(format_boot_trace_line(ms, cpu_ms, phase));
}

void BootTrace::mark_earlier(const std::string& phase, std::chrono::milliseconds before) {
  if (!enabled_) return;
  const auto at = std::chrono::steady_clock::now() - before;
  {
    std::lock_guard lock(mutex_);
    if (!seen_.insert(phase).second) return;
  }
  const double ms = std::chrono::duration<double, std::milli>(at - kProcessStart).count();
  log_line(format_boot_trace_line(ms, -1.0, phase));
}

}  // namespace kvmm

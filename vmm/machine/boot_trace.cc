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
  std::snprintf(line, sizeof line, "boot-trace %9.3f ms %9.3f ms CPU  %.*s", wall_ms, cpu_ms,
                static_cast<int>(phase.size()), phase.data());
  return line;
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

}  // namespace kvmm

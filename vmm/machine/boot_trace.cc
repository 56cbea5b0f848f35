#include "vmm/machine/boot_trace.h"

#include <cstdio>

#include "base/util/log.h"

namespace kvmm {

namespace {
// Initialized while the program loads, before main(): the closest cheap
// stand-in for "process start".
const std::chrono::steady_clock::time_point kProcessStart = std::chrono::steady_clock::now();
}  // namespace

void BootTrace::mark(const std::string& phase) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    if (!seen_.insert(phase).second) return;
  }
  const double ms = std::chrono::duration<double, std::milli>(now - kProcessStart).count();
  char line[128];
  std::snprintf(line, sizeof line, "boot-trace %9.3f ms  %s", ms, phase.c_str());
  log_line(line);
}

}  // namespace kvmm

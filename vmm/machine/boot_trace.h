#pragma once
// `--boot-trace`: timestamps of the phases of a boot, in milliseconds since
// kvmm started, printed to stderr as they happen, each with the CPU time the
// whole process had used by then (CLOCK_PROCESS_CPUTIME_ID, every thread):
//   process start → VM created → memory mapped → kernel loaded → first
//   KVM_RUN → first console byte → the guest's own phases, from the boot
//   marker (the default guest's init: started, modules loaded, ready)
// and, when the guest gives its clock with a phase, where the kernel started
// by that clock (a bzImage decompresses itself first, unseen by the host).
// The CPU time at "first KVM_RUN" is what starting the VMM cost, before the
// guest ran; later phases also count the guest's own time on the vCPU threads.
// Each phase is recorded once, by whichever thread reaches it first.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace kvmm {

class BootTrace {
 public:
  explicit BootTrace(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  // Records `phase` if it has not been recorded before. Thread-safe.
  void mark(const std::string& phase);
  // Records `phase` as having happened `before` ago; its CPU time is not
  // known, and the line says so ("-").
  void mark_earlier(const std::string& phase, std::chrono::milliseconds before);

 private:
  bool enabled_;
  std::mutex mutex_;  // Guards seen_.
  std::set<std::string> seen_;
};

// The name of the boot marker's phase `value` (devices/legacy/boot_marker.h):
// 1-3 are the default guest's init's, others are "guest marker N".
std::string boot_marker_phase(uint8_t value);
inline constexpr const char* kKernelStartPhase = "kernel started (by the guest's clock)";

// One line of the trace, e.g.
//   "boot-trace    12.345 ms     8.765 ms CPU  first KVM_RUN"
// `wall_ms` since the process started, `cpu_ms` of process CPU time by then
// (negative: not known, shown as "-").
// tools/bench-start reads the CPU figure from it: keep the shape.
std::string format_boot_trace_line(double wall_ms, double cpu_ms, std::string_view phase);

}  // namespace kvmm

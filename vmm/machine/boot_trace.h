#pragma once
// `--boot-trace`: timestamps of the phases of a boot, in milliseconds since
// kvmm started, printed to stderr as they happen:
//   process start → VM created → memory mapped → kernel loaded → first
//   KVM_RUN → first console byte → guest marker (init reached)
// Each phase is recorded once, by whichever thread reaches it first.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>

namespace kvmm {

class BootTrace {
 public:
  explicit BootTrace(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  // Records `phase` if it has not been recorded before. Thread-safe.
  void mark(const std::string& phase);

 private:
  bool enabled_;
  std::mutex mutex_;  // Guards seen_.
  std::set<std::string> seen_;
};

}  // namespace kvmm

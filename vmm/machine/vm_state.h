#pragma once
// The life of a VM as its managers see it (`kvmm list`, GET vm.info).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvmm {

enum class VmState : uint8_t {
  kStarting,  // Built; the vCPU threads are not all running yet.
  kRunning,
  kPaused,    // Every vCPU parked, devices quiesced.
  kSuspended,  // The guest sleeps (ACPI S3): as paused, until its wake event.
  kStopping,  // A stop was requested; the threads are being joined.
};

// "starting", "running", "paused", "suspended", "stopping".
std::string_view vm_state_name(VmState state);

// Where and how the host runs one vCPU thread.
struct VcpuThreadInfo {
  uint32_t vcpu = 0;
  int tid = 0;                // 0 before the thread started.
  int last_cpu = -1;          // /proc/self/task/TID/stat field 39; -1 unknown.
  std::vector<int> affinity;  // sched_getaffinity; empty when unknown.
  std::string policy;         // "other", "batch", "idle", "fifo", "rr"; "" unknown.
  int priority = 0;           // sched_param.sched_priority (fifo, rr).
};

// Reads the above for thread `tid` of this process; fields stay at their
// "unknown" values where the host will not say.
VcpuThreadInfo read_vcpu_thread_info(uint32_t vcpu, int tid);

// The "processor" field (39) of a /proc/PID/task/TID/stat line, or -1. The
// command name (field 2) may hold spaces and parentheses: fields are
// counted from the last ')'.
int parse_stat_last_cpu(std::string_view stat_line);

}  // namespace kvmm

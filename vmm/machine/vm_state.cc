#include "vmm/machine/vm_state.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "vmm/cpu/vcpu_stats.h"
#include "base/util/unique_fd.h"

namespace kvmm {

std::string_view vm_state_name(VmState state) {
  switch (state) {
    case VmState::kStarting: return "starting";
    case VmState::kRunning: return "running";
    case VmState::kPaused: return "paused";
    case VmState::kSuspended: return "suspended";
    case VmState::kStopping: return "stopping";
  }
  return "unknown";
}

int parse_stat_last_cpu(std::string_view line) {
  const std::optional<uint64_t> cpu = parse_proc_stat_field(line, 39);
  return cpu && *cpu < 1u << 20 ? static_cast<int>(*cpu) : -1;
}

namespace {

std::string policy_name(int policy) {
  switch (policy & ~SCHED_RESET_ON_FORK) {
    case SCHED_OTHER: return "other";
    case SCHED_BATCH: return "batch";
    case SCHED_IDLE: return "idle";
    case SCHED_FIFO: return "fifo";
    case SCHED_RR: return "rr";
    default: return "";
  }
}

}  // namespace

VcpuThreadInfo read_vcpu_thread_info(uint32_t vcpu, int tid) {
  VcpuThreadInfo info;
  info.vcpu = vcpu;
  info.tid = tid;
  if (tid == 0) return info;
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/stat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.valid()) {
    char text[1024];
    const ssize_t n = ::read(fd.get(), text, sizeof text - 1);
    if (n > 0) info.last_cpu = parse_stat_last_cpu(std::string_view(text, static_cast<size_t>(n)));
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(tid, sizeof set, &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) info.affinity.push_back(cpu);
    }
  }
  const int policy = ::sched_getscheduler(tid);
  if (policy >= 0) info.policy = policy_name(policy);
  sched_param param{};
  if (::sched_getparam(tid, &param) == 0) info.priority = param.sched_priority;
  return info;
}

}  // namespace kvmm

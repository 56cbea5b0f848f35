#pragma once
// The host scheduling policy of vCPU threads (--vcpu-sched): what the
// scheduling experiments vary. Parsing is pure; applying it is one
// pthread_setschedparam on the calling thread.
#include <optional>
#include <string>
#include <string_view>

namespace kvmm {

struct VcpuSchedPolicy {
  enum class Kind { kOther, kFifo, kRr, kIdle };
  Kind kind = Kind::kOther;
  int priority = 0;  // 1..99 for fifo and rr; 0 otherwise (sched(7)).
};

// "other", "fifo", "rr", "idle", with ":PRIO" for fifo and rr (default 1).
// Throws Error naming the bad text and the accepted forms.
VcpuSchedPolicy parse_vcpu_sched(std::string_view text);
std::string vcpu_sched_name(const VcpuSchedPolicy& policy);  // "fifo:10"

// Applies `policy` to the calling thread. Throws Error with one line that
// says what is missing (EPERM: CAP_SYS_NICE or RLIMIT_RTPRIO).
void apply_vcpu_sched(const VcpuSchedPolicy& policy, unsigned vcpu);

}  // namespace kvmm

#include "vmm/cpu/vcpu_sched.h"

#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstring>

#include "base/util/error.h"
#include "base/util/parse.h"

namespace kvmm {

namespace {

constexpr int kMinRtPriority = 1;   // sched_get_priority_min(SCHED_FIFO) on Linux
constexpr int kMaxRtPriority = 99;  // sched_get_priority_max(SCHED_FIFO) on Linux

const char* kind_name(VcpuSchedPolicy::Kind kind) {
  switch (kind) {
    case VcpuSchedPolicy::Kind::kOther: return "other";
    case VcpuSchedPolicy::Kind::kFifo: return "fifo";
    case VcpuSchedPolicy::Kind::kRr: return "rr";
    case VcpuSchedPolicy::Kind::kIdle: return "idle";
  }
  return "?";
}

int linux_policy(VcpuSchedPolicy::Kind kind) {
  switch (kind) {
    case VcpuSchedPolicy::Kind::kOther: return SCHED_OTHER;
    case VcpuSchedPolicy::Kind::kFifo: return SCHED_FIFO;
    case VcpuSchedPolicy::Kind::kRr: return SCHED_RR;
    case VcpuSchedPolicy::Kind::kIdle: return SCHED_IDLE;
  }
  return SCHED_OTHER;
}

[[noreturn]] void bad_policy(std::string_view text, std::string_view why) {
  throw Error("--vcpu-sched " + std::string(text) + " " + std::string(why) +
              ": use other, idle, fifo[:PRIO] or rr[:PRIO] with PRIO 1-99");
}

}  // namespace

VcpuSchedPolicy parse_vcpu_sched(std::string_view text) {
  const size_t colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  VcpuSchedPolicy policy;
  if (name == "other") {
    policy.kind = VcpuSchedPolicy::Kind::kOther;
  } else if (name == "fifo") {
    policy.kind = VcpuSchedPolicy::Kind::kFifo;
  } else if (name == "rr") {
    policy.kind = VcpuSchedPolicy::Kind::kRr;
  } else if (name == "idle") {
    policy.kind = VcpuSchedPolicy::Kind::kIdle;
  } else {
    bad_policy(text, "is not a scheduling policy");
  }
  const bool realtime =
      policy.kind == VcpuSchedPolicy::Kind::kFifo || policy.kind == VcpuSchedPolicy::Kind::kRr;
  if (colon == std::string_view::npos) {
    policy.priority = realtime ? kMinRtPriority : 0;
    return policy;
  }
  if (!realtime) bad_policy(text, "takes no priority (only fifo and rr have one)");
  const auto value = parse_integer<int>(text.substr(colon + 1));
  if (!value || *value < kMinRtPriority || *value > kMaxRtPriority) {
    bad_policy(text, "has a bad priority");
  }
  policy.priority = *value;
  return policy;
}

std::string vcpu_sched_name(const VcpuSchedPolicy& policy) {
  std::string name = kind_name(policy.kind);
  if (policy.kind == VcpuSchedPolicy::Kind::kFifo || policy.kind == VcpuSchedPolicy::Kind::kRr) {
    name += ":" + std::to_string(policy.priority);
  }
  return name;
}

void apply_vcpu_sched(const VcpuSchedPolicy& policy, unsigned vcpu) {
  sched_param param{};
  param.sched_priority = policy.priority;
  const int err = ::pthread_setschedparam(::pthread_self(), linux_policy(policy.kind), &param);
  if (err == 0) return;
  const std::string what = "--vcpu-sched " + vcpu_sched_name(policy) + " for vCPU " +
                           std::to_string(vcpu) + " was refused";
  if (err == EPERM) {
    throw Error(what + ": it needs CAP_SYS_NICE (run as root or set RLIMIT_RTPRIO, "
                "e.g. ulimit -r 99)");
  }
  throw Error(what + ": " + strerrordesc_np(err));
}

}  // namespace kvmm

#pragma once
// Per-vCPU statistics for `kvmm run --stats`: exits by reason, port and MMIO
// address, time inside KVM_RUN and in kvmm's handlers, a handler latency
// histogram, the kernel's own counters and the thread's run delay. Pure data
// and formatting: unit-tested without KVM.
//
// Threads: a VcpuStats is written only by its vCPU thread and read by the
// main thread only after that thread is joined, so it needs no locking; live
// readers get a copy the vCPU thread publishes (Vcpu::live_stats()).
//
// JSON schema (--stats=json to stderr, --stats-file=PATH to a file). One
// member per line, so a line-oriented reader can grep it:
//
//   {
//     "vcpus": [
//       {
//         "vcpu": 0,                       // vCPU index
//         "tid": 12345,                    // host thread id (gettid) of the vCPU thread
//         "kvm_run_ns": 1234567,           // wall time inside the KVM_RUN ioctl
//         "handler_ns": 23456,             // wall time in kvmm's exit handlers
//         "guest_time_ns": 1200000000,     // /proc/self/task/TID/stat guest_time, or null
//         "run_delay_ns": 789,             // /proc/self/task/TID/schedstat field 2, or null
//         "exits": 12,                     // exits that reached kvmm
//         "exits_by_reason": {             // io, mmio, hlt, shutdown, intr, fail_entry,
//           "io": 9,                       //   internal_error, interrupted (KVM_RUN
//           "mmio": 3                      //   returned EINTR), other; only non-zero ones
//         },
//         "io_ports": {                    // "PORT in|out": exits; at most 64 keys,
//           "0x520 out": 1,                //   the rest counted in "other"
//           "other": 0
//         },
//         "mmio_addresses": {              // "ADDRESS read|write": exits; same bound
//           "0xd0000004 write": 1,
//           "other": 0
//         },
//         "handler_latency_ns": {          // log2 buckets: bucket i counts [2^i, 2^(i+1)) ns
//           "count": 12, "min": 300, "median": 512, "p99": 8192, "max": 9000,
//           "buckets": {"8": 3, "9": 9}    //   (each on its own line); only non-empty ones
//         },
//         "kernel_stats": {                // KVM_GET_STATS_FD, values as the kernel counts them
//           "available": true,
//           "counters": {"exits": 27, "halt_exits": 0, ...}   // one per line; a histogram
//         }                                                    //   stat is an array
//         // or: "kernel_stats": {"available": false, "reason": "..."}
//       }
//     ]
//   }
//
// median and p99 are the lower bound of the bucket holding that rank,
// clamped to [min, max]: exact to within a factor of two.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmm/kvm/kvm_stats_fd.h"

namespace kvmm {

// HDR-style log2 histogram of nanosecond latencies.
class LatencyHistogram {
 public:
  static constexpr size_t kBuckets = 64;
  // Bucket i holds [2^i, 2^(i+1)); 0 ns goes to bucket 0 with 1 ns.
  static size_t bucket_of(uint64_t ns);

  void record(uint64_t ns);
  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  // q in [0, 1]: the lower bound of the bucket holding the ceil(q*count)-th
  // smallest sample, clamped to [min, max]. 0 when empty.
  uint64_t percentile(double q) const;
  const std::array<uint64_t, kBuckets>& buckets() const { return buckets_; }

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

// Counts per key, with at most kMaxKeys distinct keys: later new keys are
// counted in other(), so a guest scanning every port cannot grow it.
class BoundedCounter {
 public:
  static constexpr size_t kMaxKeys = 64;
  void add(uint64_t key);
  const std::map<uint64_t, uint64_t>& counts() const { return counts_; }
  uint64_t other() const { return other_; }

 private:
  std::map<uint64_t, uint64_t> counts_;
  uint64_t other_ = 0;
};

enum class ExitReason { kIo, kMmio, kHlt, kShutdown, kIntr, kFailEntry, kInternalError,
                        kInterrupted, kOther, kCount };
const char* exit_reason_name(ExitReason reason);

struct KernelStats {
  bool available = false;
  std::string unavailable_reason;
  std::vector<KvmStat> counters;
};

struct VcpuStats {
  uint32_t vcpu = 0;
  int tid = 0;
  uint64_t kvm_run_ns = 0;
  uint64_t handler_ns = 0;
  std::optional<uint64_t> run_delay_ns;
  // Time the thread ran guest code: /proc/self/task/TID/stat field 43
  // (guest_time, in clock ticks), in ns. nullopt when unreadable.
  std::optional<uint64_t> guest_time_ns;
  std::array<uint64_t, static_cast<size_t>(ExitReason::kCount)> exits_by_reason{};
  // Keys: port << 1 | 1 for out; address << 1 | 1 for write. Addresses are
  // guest-physical, below 2^52, so the shift loses nothing.
  BoundedCounter io;
  BoundedCounter mmio;
  LatencyHistogram handler_latency;
  KernelStats kernel;

  void count_exit(ExitReason reason) { ++exits_by_reason[static_cast<size_t>(reason)]; }
  uint64_t exits() const;
};

// Field `field` (numbered as in proc(5), 3 or more) of a /proc/PID/stat line
// as an unsigned number. The command name (field 2) may hold spaces and
// parentheses: fields are counted from the last ')'.
std::optional<uint64_t> parse_proc_stat_field(std::string_view line, int field);

// The second field of /proc/.../schedstat: ns spent runnable, waiting for a CPU.
std::optional<uint64_t> parse_schedstat_run_delay(std::string_view text);

// `kvmm_counters`, when given, becomes a first member saying whether kvmm's
// own counters (exits, handler times) were kept (GET vm.counters: only with
// --stats; the kernel's counters and the run delay always are).
std::string format_stats_json(const std::vector<VcpuStats>& vcpus,
                              std::optional<bool> kvmm_counters = std::nullopt);
std::string format_stats_text(const std::vector<VcpuStats>& vcpus);

}  // namespace kvmm

// kvmm bench sched and the scheduling options of kvmm run refuse bad input
// before touching KVM.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/refusal.h"

using kvmm::testing::check_refused;
using kvmm::testing::check_usage_error;

namespace {
const std::string kHello = std::string(KVMM_GUEST_DIR) + "/hello_long.bin";
}  // namespace

TEST_CASE("bench sched refuses a bogus --vcpu-sched") {
  check_usage_error({"bench", "sched", "--vcpu-sched", "bogus"},
                "--vcpu-sched bogus is not a scheduling policy: use other, idle, fifo[:PRIO] or "
                "rr[:PRIO] with PRIO 1-99");
}

TEST_CASE("bench sched refuses a negative --halt-poll-ns") {
  check_usage_error({"bench", "sched", "--halt-poll-ns", "-1"},
                "--halt-poll-ns -1 is not a number of nanoseconds");
}

TEST_CASE("bench sched refuses an unknown workload and a lone vCPU for round trips") {
  check_usage_error({"bench", "sched", "--workload", "yield"}, "use ipi, spin-wait or spin");
  check_usage_error({"bench", "sched", "--cpus", "1"}, "needs --cpus 2 or more");
  check_usage_error({"bench", "sched", "--iterations", "0"}, "--iterations 0 is not a number");
  check_usage_error({"bench", "sched", "--speed"}, "kvmm bench sched: unknown option --speed");
}

TEST_CASE("run refuses a bad --vcpu-sched priority and --halt-poll-ns") {
  check_usage_error({"run", "--flat", kHello, "--mode", "long", "--vcpu-sched", "fifo:100"},
                "--vcpu-sched fifo:100 has a bad priority");
  check_usage_error({"run", "--flat", kHello, "--mode", "long", "--halt-poll-ns", "lots"},
                "--halt-poll-ns lots is not a number of nanoseconds");
}

TEST_CASE("run refuses several vCPUs for a real-mode flat guest") {
  check_usage_error({"run", "--flat", kHello, "--cpus", "2"}, "needs --mode long or protected");
}

// vCPU threads parking for a pause, resuming, and leaving for a stop.
#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "vmm/cpu/pause_gate.h"
#include "vmm/cpu/vcpu_stats.h"
#include "vmm/machine/vm_state.h"

using namespace std::chrono_literals;

namespace {

// Stand-ins for vCPU threads: each loops, parking when asked, counting laps.
struct Vcpus {
  kvmm::PauseGate gate{3};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> laps[3] = {};
  std::vector<std::thread> threads;
  Vcpus() {
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([this, i] {
        while (!stop.load()) {
          if (gate.pause_requested()) {
            gate.park();
            continue;
          }
          laps[i].fetch_add(1);
          std::this_thread::yield();
        }
        gate.retire();
      });
    }
  }
  ~Vcpus() {
    stop = true;
    gate.release_for_stop();
    for (auto& thread : threads) thread.join();
  }
  uint64_t total() const { return laps[0] + laps[1] + laps[2]; }
};

}  // namespace

TEST_CASE("a pause returns once every thread is parked, and nothing runs until resume",
          "[threads]") {
  Vcpus vcpus;
  for (int round = 0; round < 20; ++round) {
    vcpus.gate.request_pause();
    REQUIRE(vcpus.gate.wait_until_parked(10s));
    CHECK(vcpus.gate.parked() == 3);
    const uint64_t before = vcpus.total();
    std::this_thread::sleep_for(2ms);
    CHECK(vcpus.total() == before);
    vcpus.gate.resume();
    // Each thread runs again: wait (bounded) for every lap counter to move.
    const uint64_t resumed_at[3] = {vcpus.laps[0], vcpus.laps[1], vcpus.laps[2]};
    for (int i = 0; i < 3; ++i) {
      for (int spin = 0; spin < 100000 && vcpus.laps[i] == resumed_at[i]; ++spin) {
        std::this_thread::sleep_for(10us);
      }
      CHECK(vcpus.laps[i] > resumed_at[i]);
    }
  }
}

TEST_CASE("a stop releases parked threads, and a retired thread counts as parked", "[threads]") {
  auto vcpus = std::make_unique<Vcpus>();
  vcpus->gate.request_pause();
  REQUIRE(vcpus->gate.wait_until_parked(10s));
  vcpus.reset();  // Joins: would hang if parked threads did not see the stop.
  kvmm::PauseGate gate(2);
  gate.retire();
  gate.retire();
  gate.request_pause();
  CHECK(gate.wait_until_parked(0ms));
}

TEST_CASE("a guest's suspend outlasts an API pause, and parked threads learn they woke", "[threads]") {
  kvmm::PauseGate gate(1);
  std::atomic<int> ends[2] = {};  // kResumed, kWoke.
  std::thread vcpu([&] {
    for (int i = 0; i < 2; ++i) {
      while (!gate.pause_requested()) std::this_thread::yield();
      ends[static_cast<int>(gate.park())].fetch_add(1);
    }
    gate.retire();
  });
  // An API pause and resume: kResumed.
  gate.request_pause();
  REQUIRE(gate.wait_until_parked(10s));
  gate.resume();
  while (ends[0] + ends[1] < 1) std::this_thread::yield();
  CHECK(ends[0] == 1);
  // A suspend, with a pause and resume inside it: the API's resume does not end it.
  gate.request_suspend();
  REQUIRE(gate.wait_until_parked(10s));
  gate.request_pause();
  gate.resume();
  CHECK(gate.pause_requested());
  std::this_thread::sleep_for(2ms);
  CHECK(ends[0] + ends[1] == 1);
  gate.end_suspend();
  vcpu.join();
  CHECK(ends[1] == 1);
  CHECK_FALSE(gate.pause_requested());
}

TEST_CASE("a pause that cannot complete reports it after the timeout", "[threads]") {
  kvmm::PauseGate gate(1);  // Its one "vCPU" never looks.
  gate.request_pause();
  CHECK_FALSE(gate.wait_until_parked(1ms));
  gate.resume();
  CHECK_FALSE(gate.pause_requested());
}

TEST_CASE("/proc stat fields are counted after the command name, whatever it holds", "[threads]") {
  const std::string line =
      "1234 (vcpu 0) (x)) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 "
      "26 27 28 29 30 31 32 33 34 35 7 37 38 39 40 41 42 43 44\n";
  CHECK(kvmm::parse_proc_stat_field(line, 4) == 1u);
  CHECK(kvmm::parse_stat_last_cpu(line) == 7);
  CHECK(kvmm::parse_proc_stat_field(line, 43) == 40u);
  CHECK_FALSE(kvmm::parse_proc_stat_field(line, 80));
  CHECK(kvmm::parse_stat_last_cpu("garbage") == -1);
  CHECK(kvmm::parse_stat_last_cpu("1 (x) S") == -1);
}

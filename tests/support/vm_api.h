#pragma once
// For tests of `kvmm list|info|pause|…`: a private RUNDIR per test, the
// client verbs run against it, and what /proc says of a VM's threads.
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/run_process.h"

namespace kvmm::testing {

// A fresh 0700 directory for the test's API sockets (KVMM_RUN_DIR),
// removed with everything in it.
struct RunDir {
  std::filesystem::path path;
  RunDir();
  ~RunDir();
  std::vector<std::pair<std::string, std::string>> environment() const {
    return {{"KVMM_RUN_DIR", path.string()}};
  }
};

// build/kvmm ARGS... with KVMM_RUN_DIR set to `dir`.
ProcessResult kvmm_client(const RunDir& dir, const std::vector<std::string>& args);

// /proc/PID/task/TID/comm without its newline ("" if gone).
std::string thread_name(int pid, int tid);

// Polls until `predicate` holds, at most `tries` times `interval_ms` apart.
template <typename Predicate>
bool eventually(Predicate predicate, int tries = 500, int interval_ms = 20);

}  // namespace kvmm::testing

#include <chrono>
#include <thread>

template <typename Predicate>
bool kvmm::testing::eventually(Predicate predicate, int tries, int interval_ms) {
  for (int i = 0; i < tries; ++i) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  return predicate();
}

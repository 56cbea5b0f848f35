#pragma once
// Runs a program (usually build/kvmm) to completion for a test: captures its
// stdout and stderr, feeds it stdin, and kills its whole process group if it
// outlives the timeout, so a hung guest fails one test instead of the run.
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace kvmm::testing {

struct ProcessResult {
  int exit_status = -1;  // Exit code, or 128+N when killed by signal N.
  bool timed_out = false;
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::vector<std::pair<std::string, std::string>> environment;  // Added to ours.
  std::chrono::milliseconds timeout{std::chrono::seconds(45)};
  // Called once with the child's pid after `after` has passed (e.g. to send a signal).
  std::function<void(int pid)> action;
  std::chrono::milliseconds action_after{0};
  // A conversation on stdin, like expect(1): when stdout first contains
  // `expect`, write `send`; then wait for the next pair. With none, stdin is
  // /dev/null. stdin stays open until the child exits.
  struct Exchange {
    std::string expect;
    std::string send;
  };
  std::vector<Exchange> conversation;
  // Called on `action`'s pid when stdout first contains this (empty: never).
  std::string action_when_output_has;
};

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Lines of `text`, without their '\n'.
std::vector<std::string> lines_of(const std::string& text);

}  // namespace kvmm::testing

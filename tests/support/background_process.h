#pragma once
// A program (usually `kvmm run`) left running while a test talks to it:
// stdout and stderr go to files the test reads as they grow, stdin is a pipe
// the test writes. The destructor kills its process group if it still runs,
// so a failing test leaves nothing behind.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kvmm::testing {

class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv,
                    const std::vector<std::pair<std::string, std::string>>& environment = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string out() const;
  std::string err() const;
  // Polls stdout until it holds `text` after byte `from`; false after `timeout`.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout,
                       size_t from = 0) const;
  void send(const std::string& text);
  // The exit status (128+N for signal N), or nullopt if it still runs after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int stdin_ = -1;
  std::optional<int> status_;
};

}  // namespace kvmm::testing

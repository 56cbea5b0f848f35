#include "tests/support/background_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace kvmm::testing {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

constexpr std::chrono::milliseconds kPoll{20};

}  // namespace

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const std::vector<std::pair<std::string, std::string>>& environment) {
  char pattern[] = "/tmp/kvmm-bg-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  int in_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) < 0) throw std::runtime_error("pipe2 failed");
  const std::string out = dir_ + "/out";
  const std::string err = dir_ + "/err";
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::dup2(in_pipe[0], STDIN_FILENO);
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    for (const auto& [name, value] : environment) ::setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);
  ::close(in_pipe[0]);
  stdin_ = in_pipe[1];
}

BackgroundProcess::~BackgroundProcess() {
  if (!status_) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (stdin_ >= 0) ::close(stdin_);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string BackgroundProcess::out() const { return read_file(dir_ + "/out"); }
std::string BackgroundProcess::err() const { return read_file(dir_ + "/err"); }

bool BackgroundProcess::wait_for_output(const std::string& text, std::chrono::milliseconds timeout,
                                        size_t from) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  do {
    const std::string now = out();
    if (now.size() > from && now.find(text, from) != std::string::npos) return true;
    std::this_thread::sleep_for(kPoll);
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

void BackgroundProcess::send(const std::string& text) {
  [[maybe_unused]] ssize_t n = ::write(stdin_, text.data(), text.size());
}

std::optional<int> BackgroundProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(kPoll);
  }
}

}  // namespace kvmm::testing

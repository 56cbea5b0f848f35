#include "tests/support/run_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace kvmm::testing {

namespace {
using Clock = std::chrono::steady_clock;

void drain(int fd, std::string& into, bool& open) {
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    into.append(buf, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    open = false;
  }
}
}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  int out_pipe[2];
  int err_pipe[2];
  int in_pipe[2] = {-1, -1};
  const bool talk = !options.conversation.empty();
  if (::pipe2(out_pipe, O_CLOEXEC) < 0 || ::pipe2(err_pipe, O_CLOEXEC) < 0 ||
      (talk && ::pipe2(in_pipe, O_CLOEXEC) < 0)) {
    throw std::runtime_error("pipe2 failed");
  }
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);  // Own group: a timeout kills everything it started.
    int in = talk ? in_pipe[0] : ::open("/dev/null", O_RDONLY);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    for (const auto& [name, value] : options.environment) ::setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (talk) ::close(in_pipe[0]);
  size_t next_exchange = 0;
  size_t matched_upto = 0;  // Each expect is searched for after the previous match.

  ProcessResult result;
  bool out_open = true;
  bool err_open = true;
  bool action_done = !options.action;
  const auto start = Clock::now();
  while (out_open || err_open) {
    const auto elapsed = Clock::now() - start;
    if (elapsed >= options.timeout) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    if (!action_done && options.action_when_output_has.empty() && elapsed >= options.action_after) {
      options.action(pid);
      action_done = true;
    }
    if (!action_done && !options.action_when_output_has.empty() &&
        result.out.find(options.action_when_output_has) != std::string::npos) {
      options.action(pid);
      action_done = true;
    }
    pollfd fds[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0},
                     {err_open ? err_pipe[0] : -1, POLLIN, 0}};
    ::poll(fds, 2, 50);
    if (fds[0].revents != 0) drain(out_pipe[0], result.out, out_open);
    if (fds[1].revents != 0) drain(err_pipe[0], result.err, err_open);
    while (talk && next_exchange < options.conversation.size()) {
      const auto& exchange = options.conversation[next_exchange];
      const size_t at = result.out.find(exchange.expect, matched_upto);
      if (at == std::string::npos) break;
      matched_upto = at + exchange.expect.size();
      ++next_exchange;
      const std::string& send = exchange.send;
      // Small writes to a pipe the child reads: a short write would be a
      // child that stopped reading, which the timeout catches.
      [[maybe_unused]] ssize_t n = ::write(in_pipe[1], send.data(), send.size());
    }
  }
  if (talk) ::close(in_pipe[1]);
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::kill(-pid, SIGKILL);  // Anything the child left behind in its group.
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.exit_status = 128 + WTERMSIG(status);
  return result;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

}  // namespace kvmm::testing

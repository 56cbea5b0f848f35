// kvmm fails safe on real KVM: a stop signal reaches the thread that waits
// for it whatever threads the devices started, and a stdout nobody reads
// stalls neither a vCPU nor the stop. Timeouts here are failure bounds only.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/kvm/guest_runner.h"
#include "tests/support/test_files.h"

using namespace kvmm::testing;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kBound = std::chrono::seconds(60);

}  // namespace

TEST_CASE("SIGTERM stops kvmm cleanly with a disk on the thread I/O engine") {
  // KVMM_BLOCK_IO=thread starts four blk-worker threads when the disk is
  // opened; a SIGTERM delivered to one of them used to kill kvmm outright.
  TempFile image(std::vector<uint8_t>(1 << 20, 0));
  ProcessOptions options;
  options.environment = {{"KVMM_BLOCK_IO", "thread"}};
  options.action_when_output_has = "spinning\n";  // The whole line: the check below wants it.
  options.action = [](int pid) { ::kill(pid, SIGTERM); };
  options.timeout = kBound;
  const auto run = run_guest("spin", "long", {"--disk", image.path}, options);
  CHECK(run.result.exit_status == 128 + SIGTERM);
  CHECK(run.result.out == "spinning\n");
  // Only a handled signal says so; one that killed kvmm leaves nothing.
  CHECK(run.result.err == "kvmm: stopped by signal TERM\n");
}

TEST_CASE("SIGTERM stops kvmm whose stdout nobody reads, and the lost output is reported") {
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  char err_name[] = "/tmp/kvmm-stalled-XXXXXX";
  const int err_fd = ::mkstemp(err_name);
  REQUIRE(err_fd >= 0);
  const std::vector<std::string> args = {KVMM_BINARY, "run",  "--flat", guest_path("print_forever"),
                                         "--mode",    "long", "--mem",  "64M"};
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(err_fd);

  // Wait until the pipe is full: poll() finds no room for a writer, so from
  // then on a write to it would block. (Our copy of the write end is only
  // for asking.)
  bool full = false;
  int status = 0;
  bool exited = false;
  const auto full_by = Clock::now() + kBound;
  while (Clock::now() < full_by) {
    pollfd room{out[1], POLLOUT, 0};
    if (::poll(&room, 1, 0) == 0) {
      full = true;
      break;
    }
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO("stderr: " << read_text(err_name));
  REQUIRE_FALSE(exited);
  CHECK(full);

  ::kill(pid, SIGTERM);
  const auto stopped_by = Clock::now() + kBound;
  while (!exited && Clock::now() < stopped_by) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ::close(out[0]);
  ::close(out[1]);
  const std::string err = read_text(err_name);
  std::filesystem::remove(err_name);
  INFO("stderr: " << err);
  REQUIRE(exited);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
  CHECK(err.find("kvmm: stopped by signal TERM\n") != std::string::npos);
  CHECK(err.find(" console bytes dropped: stdout was not read\n") != std::string::npos);
}

TEST_CASE("a --stats-file that is a symbolic link is refused and its target left alone") {
  char dir[] = "/tmp/kvmm-symlink-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string target = std::string(dir) + "/precious";
  const std::string link = std::string(dir) + "/stats.json";
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "keep", 4) == 4);
  ::close(fd);

  const auto run = run_guest("hello_long", "long", {"--stats-file=" + link});
  CHECK(run.result.exit_status == 0);
  CHECK(run.result.err.find("statistics file " + link + " is a symbolic link") != std::string::npos);
  CHECK(read_text(target) == "keep");
  std::filesystem::remove_all(dir);
}

// Seccomp on real KVM (docs/security.md): every thread of `kvmm run` is
// confined, a call outside a thread's filter stops kvmm with the thread and
// the call named, --seccomp=log lets it through, --seccomp=off confines nothing.
// KVMM_TEST_SECCOMP_VIOLATION=ROLE makes that role's thread call getppid(2),
// which no filter allows, right after loading its filter.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/syscall.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/kvm/guest_runner.h"
#include "tests/support/test_files.h"

using namespace kvmm::testing;

namespace {

constexpr int kSigsysStatus = 128 + SIGSYS;

// "NoNewPrivs:\t1" -> NoNewPrivs=1, of every thread of `pid`, by thread name.
std::multimap<std::string, std::string> thread_status(int pid, const std::string& field) {
  std::multimap<std::string, std::string> out;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::string name = read_text(task.path() / "comm");
    if (!name.empty() && name.back() == '\n') name.pop_back();
    const std::string status = read_text(task.path() / "status");
    const size_t at = status.find("\n" + field + ":");
    std::string value = "missing";
    if (at != std::string::npos) {
      const size_t begin = status.find_first_not_of(" \t", at + field.size() + 2);
      value = status.substr(begin, status.find('\n', begin) - begin);
    }
    out.emplace(name, value);
  }
  return out;
}

std::string violation_message(const std::string& thread) {
  return "kvmm: thread " + thread + " made system call " + std::to_string(SYS_getppid) +
         " (getppid) outside its seccomp filter";
}

// `kvmm run` of the long-mode guest `guest`, with `args`, whose thread of
// `role` makes a call outside its filter; `environment` is added.
GuestRun run_violating(const std::string& role, const std::string& guest,
                       const std::vector<std::string>& args = {},
                       std::vector<std::pair<std::string, std::string>> environment = {}) {
  ProcessOptions options;
  options.environment = std::move(environment);
  options.environment.emplace_back("KVMM_TEST_SECCOMP_VIOLATION", role);
  return run_guest(guest, "long", args, options);
}

// The SIGSYS handler stopped `run`, naming `thread` and the call.
void check_stopped_naming(const GuestRun& run, const std::string& thread) {
  INFO("stderr:\n" << run.result.err);
  CHECK(run.result.exit_status == kSigsysStatus);
  CHECK(run.result.err.find(violation_message(thread)) != std::string::npos);
}

}  // namespace

TEST_CASE("every kvmm thread runs with no_new_privs and a seccomp filter") {
  TempFile image(std::vector<uint8_t>(1 << 20));
  std::multimap<std::string, std::string> no_new_privs, seccomp;
  ProcessOptions options;
  options.environment = {{"KVMM_BLOCK_IO", "thread"}};  // blk-workers too.
  options.action = [&](int pid) {
    no_new_privs = thread_status(pid, "NoNewPrivs");
    seccomp = thread_status(pid, "Seccomp");
    ::kill(pid, SIGTERM);
  };
  options.action_after = std::chrono::milliseconds(1500);
  options.timeout = std::chrono::seconds(30);
  // --net user's slirp thread too (link-local, no DNS: it only idles here).
  const auto run = run_guest(
      "spin", "long", {"--disk", image.path, "--net", "user,net=169.254.50.0/24,dns=off"},
      options);
  INFO("stderr:\n" << run.result.err);
  CHECK(run.result.exit_status == 128 + SIGTERM);
  CHECK(seccomp.count("kvmm") == 1);
  CHECK(seccomp.count("vcpu0") == 1);
  CHECK(seccomp.count("blk-worker") == 4);
  CHECK(seccomp.count("slirp0") == 1);
  CHECK(seccomp.count("launcher") == 1);
  for (const auto& [thread, value] : no_new_privs) {
    INFO(thread);
    CHECK(value == "1");
  }
  for (const auto& [thread, value] : seccomp) {
    INFO(thread);
    CHECK(value == "2");  // SECCOMP_MODE_FILTER
  }
}

TEST_CASE("with seccomp off kvmm loads no filter") {
  std::multimap<std::string, std::string> seccomp;
  ProcessOptions options;
  options.action = [&](int pid) {
    seccomp = thread_status(pid, "Seccomp");
    ::kill(pid, SIGTERM);
  };
  options.action_after = std::chrono::milliseconds(1000);
  options.timeout = std::chrono::seconds(30);
  const auto run = run_guest("spin", "long", {"--seccomp=off"}, options);
  CHECK(run.result.exit_status == 128 + SIGTERM);
  REQUIRE(seccomp.count("vcpu0") == 1);
  for (const auto& [thread, value] : seccomp) {
    INFO(thread);
    CHECK(value == "0");
  }
}

TEST_CASE("a vCPU thread's call outside its filter stops kvmm and names the thread and call") {
  const auto run = run_violating("vcpu", "hello_long");
  check_stopped_naming(run, "vcpu0");
  CHECK(run.result.out.empty());  // It never entered the guest.
}

TEST_CASE("the main thread's call outside its filter stops kvmm and names the call") {
  check_stopped_naming(run_violating("main", "spin"), "kvmm");
}

TEST_CASE("disk threads' calls outside their filters stop kvmm and name the thread and call") {
  TempFile image(std::vector<uint8_t>(1 << 20));
  SECTION("the virtio-blk I/O thread, started by the guest's driver") {
    check_stopped_naming(run_violating("virtio-blk", "virtio_blk_hostile", {"--disk", image.path}),
                         "virtio-blk0");
  }
  SECTION("a blk-worker of the thread engine") {
    check_stopped_naming(run_violating("blk-worker", "hello_long", {"--disk", image.path},
                                       {{"KVMM_BLOCK_IO", "thread"}}),
                         "blk-worker");
  }
}

TEST_CASE("the slirp thread's call outside its filter stops kvmm and names the thread and call") {
  check_stopped_naming(
      run_violating("slirp", "hello_long", {"--net", "user,net=169.254.50.0/24,dns=off"}),
      "slirp0");
}

TEST_CASE("the launcher's call outside its filter stops kvmm and names the thread and call") {
  const auto run = run_violating("launcher", "hello_long");
  check_stopped_naming(run, "launcher");
  CHECK(run.result.out.empty());  // It comes before any vCPU.
}

TEST_CASE("with seccomp in log mode a call outside the filter goes through") {
  const auto run = run_violating("vcpu", "hello_long", {"--seccomp=log"});
  INFO("stderr:\n" << run.result.err);
  CHECK(run.result.exit_status == 0);
  CHECK(run.result.out == "Hello from long mode!\n");
}

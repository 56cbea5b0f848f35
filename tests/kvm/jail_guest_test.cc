// --jail on real KVM (docs/security.md, "The jail"): while the guest runs,
// every thread of kvmm has the jail's user and group ids and no
// supplementary groups, and the process's root and working directory are
// DIR; the guest itself runs exactly as it does outside a jail, and what
// kvmm opened before (its image, a disk, the exit log, the statistics file,
// all outside DIR) still works. Needs root, as --jail does.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/kvm/guest_runner.h"
#include "tests/support/test_files.h"
#include "tests/support/vm_api.h"

using namespace kvmm::testing;

namespace {

constexpr const char* kNobody = "65534";

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/kvmm-jail-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// The value of `field` ("Uid") in a /proc status file, tabs kept.
std::string status_field(const std::string& status, const std::string& field) {
  const size_t at = status.find("\n" + field + ":\t");
  if (at == std::string::npos) return "missing";
  const size_t begin = at + field.size() + 3;
  return status.substr(begin, status.find('\n', begin) - begin);
}

struct ThreadIds {
  std::string uid, gid, groups, no_new_privs;
};

// Every thread of `pid`, by name (several blk-workers).
std::multimap<std::string, ThreadIds> thread_ids(int pid) {
  std::multimap<std::string, ThreadIds> out;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::string name = read_text(task.path() / "comm");
    if (!name.empty() && name.back() == '\n') name.pop_back();
    const std::string status = read_text(task.path() / "status");
    out.emplace(name, ThreadIds{status_field(status, "Uid"), status_field(status, "Gid"),
                                status_field(status, "Groups"),
                                status_field(status, "NoNewPrivs")});
  }
  return out;
}

bool root_needed() {
  if (::geteuid() == 0) return false;
  WARN("--jail needs root: skipped");
  return true;
}

}  // namespace

TEST_CASE("a jailed kvmm runs every thread as the jail's user, rooted in DIR") {
  if (root_needed()) return;
  const std::string seccomp = GENERATE(std::string("on"), std::string("off"));
  INFO("--seccomp=" << seccomp);
  TempDir jail;
  TempDir outside;
  const std::string stats = outside.path + "/stats.json";
  TempFile image(std::vector<uint8_t>(1 << 20));
  std::multimap<std::string, ThreadIds> threads;
  std::string root, cwd;
  ProcessOptions options;
  // blk-workers run before the jail: they change ids too (glibc's setxid).
  options.environment = {{"KVMM_BLOCK_IO", "thread"}};
  options.action = [&](int pid) {
    threads = thread_ids(pid);
    const std::string proc = "/proc/" + std::to_string(pid);
    std::error_code error;
    root = std::filesystem::read_symlink(proc + "/root", error).string();
    cwd = std::filesystem::read_symlink(proc + "/cwd", error).string();
    ::kill(pid, SIGTERM);
  };
  // The guest prints only once it runs, which is after the jail.
  // The whole line: a stop between its last two bytes would cut it short.
  options.action_when_output_has = "spinning\n";
  options.timeout = std::chrono::seconds(30);
  const auto run = run_guest("spin", "long",
                             {"--disk", image.path.string(), "--stats-file=" + stats,
                              "--seccomp=" + seccomp, "--api-socket", outside.path + "/vm.sock",
                              "--jail", jail.path + ",uid=65534,gid=65534"},
                             options);
  INFO("stderr:\n" << run.result.err);
  CHECK(run.result.exit_status == 128 + SIGTERM);
  CHECK(run.result.out == "spinning\n");
  CHECK(root == jail.path);
  CHECK(cwd == jail.path);
  CHECK(threads.count("kvmm") == 1);
  CHECK(threads.count("vcpu0") == 1);
  CHECK(threads.count("blk-worker") == 4);
  CHECK(threads.count("api") == 1);
  const std::string all = std::string(kNobody) + "\t" + kNobody + "\t" + kNobody + "\t" + kNobody;
  for (const auto& [thread, ids] : threads) {
    if (thread.starts_with("kvm-")) continue;  // KVM's kernel worker, not kvmm's.
    INFO("thread " << thread);
    CHECK(ids.uid == all);
    CHECK(ids.gid == all);
    CHECK(ids.groups.find_first_not_of(' ') == std::string::npos);  // None.
    CHECK(ids.no_new_privs == "1");
  }
  // Opened before the jail, written at exit from inside it.
  CHECK(read_text(stats).find("\"vcpus\"") != std::string::npos);
  CHECK(run.exits.find("vcpu0 pio-out port=0x3f8") != std::string::npos);
}

TEST_CASE("a jailed flat guest runs to its normal exit, its exits as outside the jail") {
  if (root_needed()) return;
  TempDir jail;
  // No ids given: the directory's owner and group.
  REQUIRE(::chown(jail.path.c_str(), 65534, 65534) == 0);
  const auto free_run = run_guest("hello_long", "long");
  const auto jailed = run_guest("hello_long", "long", {"--jail", jail.path});
  INFO("stderr:\n" << jailed.result.err);
  CHECK(jailed.result.exit_status == free_run.result.exit_status);
  CHECK(jailed.result.exit_status == 0);
  CHECK(jailed.result.out == "Hello from long mode!\n");
  CHECK(jailed.result.err.empty());
  CHECK(jailed.exits == free_run.exits);
  CHECK(jailed.exits.starts_with(print_exits("Hello from long mode!\n")));
}

TEST_CASE("vcpu-sched fifo in a jail is refused before the guest runs, naming --jail") {
  if (root_needed()) return;
  rlimit rtprio{};
  REQUIRE(::getrlimit(RLIMIT_RTPRIO, &rtprio) == 0);
  if (rtprio.rlim_cur != 0) {
    WARN("RLIMIT_RTPRIO is set, so the jail's user may use fifo: skipped");
    return;
  }
  TempDir jail;
  const auto run = run_guest("hello_long", "long",
                             {"--api-socket", "none", "--vcpu-sched", "fifo", "--jail",
                              jail.path + ",uid=65534,gid=65534"});
  CHECK(run.result.exit_status == 1);
  CHECK(run.result.out.empty());  // hello_long never ran.
  CHECK(run.result.err ==
        "kvmm: --vcpu-sched fifo:1 for vCPU 0 was refused: --jail leaves kvmm without "
        "CAP_SYS_NICE; raise RLIMIT_RTPRIO before starting kvmm (e.g. ulimit -r 99), or drop "
        "one of the two options\n");
}

TEST_CASE("a detached jailed VM is managed through its API, and its name can be used again") {
  if (root_needed()) return;
  using nlohmann::json;
  RunDir dir;
  TempDir jail;
  ProcessOptions options;
  options.environment = dir.environment();
  const std::vector<std::string> args = {KVMM_BINARY, "run", "--flat", guest_path("spin"),
                                         "--mode", "long", "--name", "caged", "--detach",
                                         "--jail", jail.path + ",uid=65534,gid=65534"};
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    const ProcessResult run = run_process(args, options);
    INFO("stderr: " << run.err);
    REQUIRE(run.exit_status == 0);
    CHECK(run.out.find("VM 'caged' is running") == 0);

    const ProcessResult info = kvmm_client(dir, {"info", "caged", "--json"});
    REQUIRE(info.exit_status == 0);
    const json vm = json::parse(info.out);
    CHECK(vm["config"]["jail"] == jail.path + ",uid=65534,gid=65534");
    const std::string proc = "/proc/" + std::to_string(vm["pid"].get<int>());
    std::error_code error;
    CHECK(std::filesystem::read_symlink(proc + "/root", error).string() == jail.path);
    CHECK(status_field(read_text(proc + "/status"), "Uid") == "65534\t65534\t65534\t65534");
    // No /proc in the jail: what comes from there is unavailable, the rest is served.
    const ProcessResult stats = kvmm_client(dir, {"stats", "caged", "--json"});
    REQUIRE(stats.exit_status == 0);
    CHECK(json::parse(stats.out)["vcpus"][0]["guest_time_ns"].is_null());

    CHECK(kvmm_client(dir, {"destroy", "caged"}).exit_status == 0);
    // The log was opened before the jail, outside it.
    CHECK(eventually([&] {
      const std::string messages = read_text(dir.path / "caged.log");
      return messages.find("powered off through the API") != std::string::npos &&
             messages.find("VM 'caged' ended, exit status 0") != std::string::npos;
    }));
    // Gone (or a zombie): its lock on the name is released.
    CHECK(eventually([&] {
      const std::string state = status_field(read_text(proc + "/status"), "State");
      return state == "missing" || state.starts_with("Z");
    }));
    // Out of the jail's reach at exit, the socket stays, as after a SIGKILL;
    // the second round replaces it.
    CHECK(std::filesystem::exists(dir.path / "caged.sock"));
    std::filesystem::remove(dir.path / "caged.log");
  }
}

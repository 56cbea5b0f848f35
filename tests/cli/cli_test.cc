// Bad input gives one line on stderr naming the problem and the fix, a
// non-zero exit, and no guest output.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "tests/support/refusal.h"
#include "tests/support/run_process.h"

using kvmm::testing::check_refused;
using kvmm::testing::check_usage_error;
using kvmm::testing::ProcessOptions;
using kvmm::testing::ProcessResult;
using kvmm::testing::run_process;

namespace {

const std::string kHello = std::string(KVMM_GUEST_DIR) + "/hello_long.bin";

ProcessResult kvmm_cmd(std::vector<std::string> args, ProcessOptions options = {}) {
  args.insert(args.begin(), KVMM_BINARY);
  return run_process(args, options);
}

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(size_t size) {
    char name[] = "/tmp/kvmm-cli-XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
    ::close(fd);
    path = name;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("a missing guest file is named") {
  check_refused({"run", "--flat", "/nonexistent/guest.bin"},
                "/nonexistent/guest.bin does not exist: check the path");
}

TEST_CASE("an empty guest file is refused") {
  TempFile empty(0);
  check_refused({"run", "--flat", empty.path}, "is empty");
}

TEST_CASE("a guest file larger than guest memory is refused") {
  TempFile big(2 << 20);
  check_refused({"run", "--flat", big.path, "--mem", "1M"},
                "does not fit in guest memory at 0x8000");
}

TEST_CASE("a zero --mem is refused") {
  check_usage_error({"run", "--flat", kHello, "--mem", "0"}, "--mem must be more than 0");
}

TEST_CASE("an unknown --mode is refused") {
  check_usage_error({"run", "--flat", kHello, "--mode", "unreal"},
                "--mode unreal is not a CPU mode: use real, protected or long");
}

TEST_CASE("an unknown option and a missing command are refused") {
  check_usage_error({"run", "--flat", kHello, "--turbo"}, "unknown option --turbo");
  check_usage_error({}, "needs a command");
}

TEST_CASE("a missing /dev/kvm says how to get one") {
  ProcessOptions options;
  options.environment = {{"KVMM_KVM_DEVICE", "/nonexistent/kvm"}};
  check_refused({"run", "--flat", kHello}, "/nonexistent/kvm does not exist: enable virtualization",
                options);
  const auto r = kvmm_cmd({"run", "--flat", kHello}, options);
  CHECK(r.err.find("tools/with-kvm") != std::string::npos);
}

TEST_CASE("kvmm check fails clearly without /dev/kvm") {
  ProcessOptions options;
  options.environment = {{"KVMM_KVM_DEVICE", "/nonexistent/kvm"}};
  const auto r = kvmm_cmd({"check"}, options);
  CHECK(r.exit_status == 1);
  CHECK(r.out.find("FAIL  /nonexistent/kvm does not exist") != std::string::npos);
  const auto quiet = kvmm_cmd({"check", "--quiet"}, options);
  CHECK(quiet.exit_status == 1);
  CHECK(quiet.out.empty());
}

TEST_CASE("kvmm check --json reports every check, the host's devices too, without /dev/kvm") {
  ProcessOptions options;
  options.environment = {{"KVMM_KVM_DEVICE", "/nonexistent/kvm"}};
  const auto r = kvmm_cmd({"check", "--json"}, options);
  CHECK(r.exit_status == 1);
  CHECK(r.err.empty());
  const auto json = nlohmann::json::parse(r.out);
  CHECK(json["ok"] == false);
  std::map<std::string, std::string> status;
  for (const auto& check : json["checks"]) {
    CHECK_FALSE(check["message"].get<std::string>().empty());
    status[check["name"]] = check["status"];
  }
  CHECK(status["kvm-device"] == "fail");
  // Checked even though KVM is missing; each passes or only warns.
  for (const char* name : {"tun", "vhost-net", "io_uring", "transparent-hugepages"}) {
    INFO(name);
    REQUIRE(status.count(name) == 1);
    CHECK(status[name] != "fail");
  }
  check_usage_error({"check", "--json", "--quiet"}, "--quiet and --json both given");
}

TEST_CASE("help and version are printed") {
  const auto help = kvmm_cmd({"--help"});
  CHECK(help.exit_status == 0);
  CHECK(help.out.find("kvmm run --flat FILE") != std::string::npos);
  CHECK(help.err.empty());
  const auto version = kvmm_cmd({"--version"});
  CHECK(version.exit_status == 0);
  CHECK(version.out.rfind("kvmm ", 0) == 0);
}

TEST_CASE("bench refuses bad input before touching KVM") {
  // A KVM device that does not exist: each refusal must come first.
  ProcessOptions no_kvm;
  no_kvm.environment = {{"KVMM_KVM_DEVICE", "/nonexistent/kvm"}};
  check_usage_error({"bench"}, "needs a benchmark name", no_kvm);
  check_usage_error({"bench", "nope"}, "unknown benchmark 'nope'", no_kvm);
  check_usage_error({"bench", "exits", "--kind", "cpuid,warp"},
                "unknown exit kind 'warp': use one or more of none, cpuid", no_kvm);
  check_usage_error({"bench", "exits", "--iterations", "0"}, "--iterations 0 measures nothing",
                no_kvm);
  check_usage_error({"bench", "exits", "--iterations", "5000000"}, "cap of 1000000", no_kvm);
  check_usage_error({"bench", "exits", "--warmup", "-1"}, "not a number", no_kvm);
  check_usage_error({"bench", "exits", "--plot", "exits.pdf"}, "must be .svg or .png", no_kvm);
  check_refused({"bench", "exits", "--json", "/nonexistent-kvmm-dir/exits.json"},
                "directory /nonexistent-kvmm-dir does not exist", no_kvm);
  check_refused({"bench", "exits", "--csv", "/tmp"}, "is a directory", no_kvm);
  check_refused({"bench", "exits", "--plot", "/nonexistent-kvmm-dir/exits.svg"},
                "does not exist", no_kvm);
}

TEST_CASE("bench --plot without gnuplot says how to get it") {
  ProcessOptions no_gnuplot;
  no_gnuplot.environment = {{"PATH", "/nonexistent"}, {"KVMM_KVM_DEVICE", "/nonexistent/kvm"}};
  check_refused({"bench", "exits", "--plot", "/tmp/kvmm-cli-never.svg"},
                "apt-get install gnuplot-nox", no_gnuplot);
}

TEST_CASE("each verb's --help prints its usage and exits 0") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", "--help"}, {"run", "-h"}, {"check", "--help"},
        {"bench", "exits", "--help"}, {"bench", "sched", "--help"}, {"bench", "--help"},
        {"run", "--flat", "x", "--help"}}) {
    const auto r = kvmm_cmd(args);
    INFO(args[0] << " " << args[1]);
    CHECK(r.exit_status == 0);
    CHECK(r.err.empty());
    const std::string verb = args[0] == "bench" && args[1] != "--help" ? "bench " + args[1] : args[0];
    CHECK(r.out.rfind("Usage: kvmm " + verb, 0) == 0);
    CHECK(r.out.find("  --help") != std::string::npos);
  }
}

TEST_CASE("kvmm --man and --completion bash print what the build installs") {
  const auto man = kvmm_cmd({"--man"});
  CHECK(man.exit_status == 0);
  CHECK(man.out.find(".TH KVMM 1") != std::string::npos);
  const auto completion = kvmm_cmd({"--completion", "bash"});
  CHECK(completion.exit_status == 0);
  CHECK(completion.out.find("complete -F _kvmm kvmm") != std::string::npos);
  check_usage_error({"--completion", "fish"}, "use --completion bash");
}

TEST_CASE("usage errors exit 2 and point at the verb's --help") {
  check_usage_error({"run", "--flat", kHello, "--turbo"},
                    "kvmm run: unknown option --turbo: see kvmm run --help");
  check_usage_error({"bench", "sched", "--nope"}, "see kvmm bench sched --help");
  check_usage_error({"check", "stray"}, "unexpected argument 'stray': see kvmm check --help");
  // QEMU's spellings and typos: the option meant, in the same one line.
  check_usage_error({"run", "--flat", kHello, "-m", "512"},
                    "kvmm run: unknown option -m: did you mean --mem? see kvmm run --help");
  check_usage_error({"run", "--flat", kHello, "--smp", "2"}, "did you mean --cpus?");
  check_usage_error({"run", "--flat", kHello, "--cpu", "2"}, "did you mean --cpus?");
  check_usage_error({"run", "--flat"}, "--flat needs a value: see kvmm run --help");
  check_usage_error({"run"}, "kvmm run needs a guest");
  check_usage_error({"--frobnicate"}, "unknown command '--frobnicate'");
}

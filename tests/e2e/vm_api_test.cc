// Managing a running Linux guest (Debian's kernel, the default guest) through
// the API: a paused guest runs nothing and writes nothing, resumes without a
// soft lockup, is shut down by its power button, and a destroy keeps the
// writes the guest had synced.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/background_process.h"
#include "tests/support/refusal.h"
#include "tests/support/test_files.h"
#include "tests/support/vm_api.h"

using namespace kvmm::testing;

namespace {

const std::string kGuestDir = KVMM_DEFAULT_GUEST_DIR;
constexpr const char* kPrompt = "kvmm-guest# ";
constexpr auto kBoot = std::chrono::seconds(150);

std::string guest_file(const std::string& name) {
  const std::string path = kGuestDir + "/" + name;
  if (!std::filesystem::exists(path)) {
    FAIL(path << " is missing: run tools/default-guest-build (tools/test does)");
  }
  return path;
}

std::vector<std::string> boot_args(const std::string& name, const std::string& disk) {
  return {KVMM_BINARY, "run", "--kernel", guest_file("vmlinuz"), "--initrd",
          guest_file("initrd.img"), "--cmdline", "console=ttyS0 quiet panic=-1",
          "--mem", "256M", "--cpus", "2", "--name", name, "--disk", disk};
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a paused Linux guest runs and writes nothing, and resumes without a soft lockup") {
  RunDir dir;
  TempFile disk(std::string(8 << 20, '\0'));
  BackgroundProcess vm(boot_args("heart", disk.path.string()), dir.environment());
  INFO("stdout:\n" << vm.out() << "\nstderr:\n" << vm.err());
  REQUIRE(vm.wait_for_output(kPrompt, kBoot));
  // A heartbeat every 100 ms, and a writer that keeps changing the disk.
  vm.send("i=0; while true; do echo \"beat $i\"; i=$((i+1)); usleep 100000; done &\n");
  vm.send("while true; do date > /dev/vda; sync; usleep 50000; done &\n");
  REQUIRE(vm.wait_for_output("beat 5", kBoot));
  // The counters grow while the guest works.
  const auto exits = [&] {
    const ProcessResult r = kvmm_client(dir, {"stats", "heart", "--json"});
    const nlohmann::json stats = nlohmann::json::parse(r.out);
    uint64_t sum = 0;
    for (const auto& vcpu : stats["vcpus"]) sum += vcpu["kernel_stats"]["counters"].value("exits", 0ull);
    return sum;
  };
  const uint64_t exits_before = exits();
  CHECK(eventually([&] { return exits() > exits_before; }, 100, 100));

  REQUIRE(kvmm_client(dir, {"pause", "heart"}).exit_status == 0);
  // Output still buffered in kvmm drains; then nothing more comes.
  std::string before;
  REQUIRE(eventually([&] {
    const std::string now = vm.out();
    const bool settled = now == before;
    before = now;
    return settled;
  }, 50, 300));
  const std::string image_before = file_bytes(disk.path.string());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(vm.out() == before);  // No heartbeat while paused.
  CHECK(file_bytes(disk.path.string()) == image_before);  // No disk write either.

  REQUIRE(kvmm_client(dir, {"resume", "heart"}).exit_status == 0);
  const size_t beats = count_of(vm.out(), "beat ");
  CHECK(eventually([&] { return count_of(vm.out(), "beat ") >= beats + 10; }, 300, 100));
  CHECK(vm.out().find("soft lockup") == std::string::npos);
  CHECK(kvmm_client(dir, {"destroy", "heart"}).exit_status == 0);
  CHECK(vm.wait_exit(std::chrono::seconds(60)) == 0);
}

TEST_CASE("kvmm shutdown powers the default guest off through its power button") {
  RunDir dir;
  TempFile disk(std::string(1 << 20, '\0'));
  BackgroundProcess vm(boot_args("polite", disk.path.string()), dir.environment());
  INFO("stdout:\n" << vm.out() << "\nstderr:\n" << vm.err());
  REQUIRE(vm.wait_for_output(kPrompt, kBoot));
  const ProcessResult r = kvmm_client(dir, {"shutdown", "polite", "--timeout", "120"});
  INFO(r.err);
  CHECK(r.out == "VM 'polite' shut down\n");
  CHECK(vm.wait_exit(std::chrono::seconds(60)) == 0);
  CHECK(vm.out().find("power button pressed") != std::string::npos);
}

TEST_CASE("kvmm destroy keeps what the guest had synced to its disk") {
  RunDir dir;
  TempFile disk(std::string(1 << 20, '\0'));
  BackgroundProcess vm(boot_args("abrupt", disk.path.string()), dir.environment());
  INFO("stdout:\n" << vm.out() << "\nstderr:\n" << vm.err());
  REQUIRE(vm.wait_for_output(kPrompt, kBoot));
  vm.send("printf 'SYNCED-%s' $((40+2)) | dd of=/dev/vda bs=512 seek=100 conv=fsync 2>/dev/null"
          " && echo \"write-$((6*7))-done\"\n");
  REQUIRE(vm.wait_for_output("write-42-done", kBoot));
  CHECK(kvmm_client(dir, {"destroy", "abrupt"}).exit_status == 0);
  CHECK(vm.wait_exit(std::chrono::seconds(60)) == 0);
  CHECK(file_bytes(disk.path.string()).substr(512 * 100, 9) == "SYNCED-42");
}

TEST_CASE("a detached Linux guest is reached with kvmm console and shut down") {
  RunDir dir;
  ProcessOptions options;
  options.environment = dir.environment();
  options.timeout = kBoot;
  std::vector<std::string> args = boot_args("remote", "");
  args.resize(args.size() - 2);  // No disk.
  args.push_back("--detach");
  const ProcessResult run = run_process(args, options);
  INFO(run.err);
  REQUIRE(run.exit_status == 0);
  CHECK(run.out.find("VM 'remote' is running") == 0);

  ProcessOptions talk = options;
  talk.conversation = {{kPrompt, "echo \"sum=$((6*7))\"\n"}, {"sum=42", "\x1d"}};
  const ProcessResult console = run_process({KVMM_BINARY, "console", "remote"}, talk);
  INFO(console.out << console.err);
  CHECK(console.exit_status == 0);
  CHECK(console.out.find("sum=42") != std::string::npos);

  const ProcessResult list = kvmm_client(dir, {"list"});
  CHECK(list.out.find("remote") != std::string::npos);
  // Each vCPU thread kvmm info names is that vCPU's thread in /proc.
  const nlohmann::json info = nlohmann::json::parse(kvmm_client(dir, {"info", "remote", "--json"}).out);
  REQUIRE(info["vcpus"].size() == 2);
  for (int i = 0; i < 2; ++i) {
    CHECK(thread_name(info["pid"].get<int>(), info["vcpus"][i]["tid"].get<int>()) ==
          "vcpu" + std::to_string(i));
  }
  const ProcessResult shutdown = kvmm_client(dir, {"shutdown", "remote", "--timeout", "120"});
  INFO(shutdown.err);
  CHECK(shutdown.out == "VM 'remote' shut down\n");
  CHECK(eventually([&] {
    return read_text((dir.path / "remote.log").string()).find("VM 'remote' ended, exit status 0") !=
           std::string::npos;
  }));
}

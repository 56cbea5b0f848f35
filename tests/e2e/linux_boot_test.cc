// Debian's stock kernel, unmodified, booted by kvmm to the default guest's
// shell; commands typed on kvmm's stdin run there. Each test boots once.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/refusal.h"
#include "tests/support/run_process.h"

using namespace kvmm::testing;

namespace {

const std::string kGuestDir = KVMM_DEFAULT_GUEST_DIR;
constexpr const char* kPrompt = "kvmm-guest# ";
// What a test's command prints once evaluated: the typed text (echoed by
// the guest's terminal) shows "$((6*7))" instead.
constexpr const char* kReport =
    "echo \"report cpus=$(nproc) acpi-errors=$(dmesg | grep -cE 'ACPI (BIOS )?(Error|Warning)') "
    "marker=$((6*7))\"\n";

std::string guest_file(const std::string& name) {
  const std::string path = kGuestDir + "/" + name;
  if (!std::filesystem::exists(path)) {
    FAIL(path << " is missing: run tools/default-guest-build (tools/test does)");
  }
  return path;
}

struct Boot {
  std::vector<std::string> prefix;  // Runs kvmm through this (e.g. taskset).
  std::string kernel = "vmlinuz";
  std::vector<std::string> args;  // Extra kvmm arguments.
  std::string cmdline = "console=ttyS0 quiet panic=-1";
  ProcessOptions options;
};

ProcessResult boot(Boot b) {
  std::vector<std::string> argv = b.prefix;
  argv.insert(argv.end(), {KVMM_BINARY, "run", "--kernel", guest_file(b.kernel), "--initrd",
                           guest_file("initrd.img"), "--cmdline", b.cmdline, "--mem", "256M"});
  argv.insert(argv.end(), b.args.begin(), b.args.end());
  b.options.timeout = std::chrono::seconds(150);
  ProcessResult r = run_process(argv, b.options);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE_FALSE(r.timed_out);
  // The caller's first check shows kvmm's stderr too: a guest that crashed
  // (status 4) is explained there by its registers.
  UNSCOPED_INFO("kvmm's stderr:\n" << r.err);
  return r;
}

// The shell's prompt, then `commands`.
ProcessOptions::Exchange at_prompt(std::string commands) { return {kPrompt, std::move(commands)}; }

}  // namespace

// The first "model name" line of /proc/cpuinfo in `text`, without its
// line end; empty if there is none.
std::string model_name_in(const std::string& text) {
  for (std::string line : lines_of(text)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("model name", 0) == 0) return line;
  }
  return "";
}

TEST_CASE("bzImage with 1 vCPU and ACPI runs commands from stdin and poweroff ends kvmm with 0") {
  Boot b;
  b.options.conversation = {at_prompt(kReport), at_prompt("grep -m1 'model name' /proc/cpuinfo\n"),
                            at_prompt("poweroff -f\n")};
  const auto r = boot(b);
  CHECK(r.out.find("kvmm-guest: ready, 1 CPUs") != std::string::npos);
  CHECK(r.out.find("report cpus=1 acpi-errors=0 marker=42") != std::string::npos);
  CHECK(r.exit_status == 0);
  CHECK(r.err.empty());
  // A clean boot: the kernel finds PCI configuration space (kvmm's host
  // bridge), so `quiet` leaves no KERN_ERR line about it on the console.
  CHECK(r.out.find("PCI: Fatal") == std::string::npos);
  CHECK(r.out.find("PCI: System does not support PCI") == std::string::npos);
  // The guest's processor name is the host's (CPUID 0x80000002-4), not "17/01".
  std::ifstream cpuinfo("/proc/cpuinfo");
  const std::string host_model =
      model_name_in(std::string(std::istreambuf_iterator<char>(cpuinfo), {}));
  REQUIRE_FALSE(host_model.empty());
  CHECK(model_name_in(r.out) == host_model);
}

TEST_CASE("bzImage with 4 vCPUs on 2 host CPUs has named and pinned vCPU threads and reboot ends kvmm with 0") {
  std::vector<std::string> names;
  std::vector<std::string> allowed;
  Boot b;
  // Host CPUs 0 and 1 whatever this test inherited: tools/test confines the
  // nested host's tests to one CPU, and kvmm pins only within what it may use.
  b.prefix = {"/usr/bin/taskset", "-c", "0,1"};  // util-linux
  b.args = {"--cpus", "4", "--pin", "0,1,0,1"};
  b.options.action_when_output_has = "kvmm-guest: ready";
  b.options.action = [&](int pid) {
    const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::string comm = read_text(task.path() / "comm");
      if (comm.rfind("vcpu", 0) != 0) continue;
      names.push_back(comm);
      std::istringstream status(read_text(task.path() / "status"));
      for (std::string line; std::getline(status, line);) {
        if (line.rfind("Cpus_allowed_list:", 0) == 0) allowed.push_back(comm + line.substr(18));
      }
    }
  };
  b.options.conversation = {at_prompt(kReport), at_prompt("reboot -f\n")};
  const auto r = boot(b);
  CHECK(r.out.find("report cpus=4 acpi-errors=0 marker=42") != std::string::npos);
  CHECK(r.exit_status == 0);
  CHECK(r.err.find("the guest rebooted") != std::string::npos);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"vcpu0\n", "vcpu1\n", "vcpu2\n", "vcpu3\n"});
  std::sort(allowed.begin(), allowed.end());
  CHECK(allowed == std::vector<std::string>{"vcpu0\n\t0", "vcpu1\n\t1", "vcpu2\n\t0", "vcpu3\n\t1"});
}

// Boots `kernel` with `cpus` vCPUs, ACPI on or off, runs the report and
// shuts down: poweroff with ACPI; without ACPI a kernel cannot power off, so
// it reboots through the keyboard controller.
void check_boot(const std::string& kernel, int cpus, bool acpi,
                std::vector<std::string> args = {}) {
  Boot b;
  b.kernel = kernel;
  b.args = {"--cpus", std::to_string(cpus)};
  b.args.insert(b.args.end(), args.begin(), args.end());
  if (!acpi) b.cmdline += " acpi=off";
  b.options.conversation = {at_prompt(kReport), at_prompt(acpi ? "poweroff -f\n" : "reboot -f\n")};
  const auto r = boot(b);
  CHECK(r.out.find("kvmm-guest: ready, " + std::to_string(cpus) + " CPUs") != std::string::npos);
  CHECK(r.out.find("report cpus=" + std::to_string(cpus) + " acpi-errors=0 marker=42") !=
        std::string::npos);
  CHECK(r.exit_status == 0);
}

TEST_CASE("bzImage with 1 vCPU and acpi=off boots from the MP table") { check_boot("vmlinuz", 1, false); }
// The bzImage's own 64-bit entry and decompressor, which every other
// bzImage test skips now that kvmm unpacks the kernel on the host.
TEST_CASE("bzImage through its own entry (--kernel-unpack=off) with 4 vCPUs and acpi=off boots from the MP table") {
  check_boot("vmlinuz", 4, false, {"--kernel-unpack=off"});
}
TEST_CASE("vmlinux through PVH with 1 vCPU and ACPI") { check_boot("vmlinux", 1, true); }
TEST_CASE("vmlinux through PVH with 4 vCPUs and ACPI") { check_boot("vmlinux", 4, true); }
TEST_CASE("vmlinux through PVH with 1 vCPU and acpi=off") { check_boot("vmlinux", 1, false); }
TEST_CASE("vmlinux through PVH with 4 vCPUs and acpi=off") { check_boot("vmlinux", 4, false); }

// type_of_loader in the boot_params the guest kernel kept (offset 0x210):
// kvmm's zero page says 0xff (undefined); Linux's PVH entry, outside Xen,
// 0xb0 (arch/x86/platform/pvh/enlighten.c).
constexpr const char* kLoaderReport =
    "echo \"loader=$(od -An -tx1 -j528 -N1 /sys/kernel/boot_params/data) "
    "cmdline=$(cat /proc/cmdline)\"\n";

// `out` has `line` as a whole line (the serial console ends lines with CR LF).
bool has_line(const std::string& out, const std::string& line) {
  return out.find(line + "\r\n") != std::string::npos || out.find(line + "\n") != std::string::npos;
}

TEST_CASE("bzImage unpacked on the host boots through PVH with the same command line, then from the cache") {
  char dir[] = "/tmp/kvmm-cache-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string cache = dir;
  Boot b;
  b.args = {"--boot-trace"};
  b.cmdline += " unpack.marker=7";
  b.options.environment = {{"XDG_CACHE_HOME", cache}};
  b.options.conversation = {at_prompt(kLoaderReport), at_prompt("poweroff -f\n")};
  const auto first = boot(b);
  INFO("first boot's stdout:\n" << first.out);
  CHECK(first.exit_status == 0);
  CHECK(first.err.find(" ms CPU  kernel unpacked from bzImage (xz, ") != std::string::npos);
  CHECK(first.err.find(", cached)\n") != std::string::npos);
  CHECK(has_line(first.out, "loader= b0 cmdline=" + b.cmdline));

  b.options.conversation = {at_prompt("poweroff -f\n")};
  const auto second = boot(b);
  CHECK(second.exit_status == 0);
  CHECK(second.err.find(" ms CPU  kernel unpacked from bzImage (cache hit)\n") != std::string::npos);
  std::filesystem::remove_all(cache);
}

TEST_CASE("bzImage with --kernel-unpack=off decompresses itself behind its own entry") {
  Boot b;
  b.args = {"--boot-trace", "--kernel-unpack=off"};
  b.options.conversation = {at_prompt(kLoaderReport), at_prompt("poweroff -f\n")};
  const auto r = boot(b);
  INFO("stdout:\n" << r.out);
  CHECK(r.exit_status == 0);
  CHECK(r.err.find("unpacked") == std::string::npos);
  CHECK(has_line(r.out, "loader= ff cmdline=" + b.cmdline));
}

TEST_CASE("a guest kernel panic ends kvmm with status 3 and the reason") {
  Boot b;
  b.options.conversation = {at_prompt("echo c > /proc/sysrq-trigger\n")};
  const auto r = boot(b);
  CHECK(r.exit_status == 3);
  CHECK(r.err == "kvmm: the guest kernel panicked: sysrq triggered crash\n");
}

TEST_CASE("SIGTERM stops a running Linux guest cleanly") {
  Boot b;
  b.args = {"--cpus", "2"};
  b.options.action_when_output_has = kPrompt;
  b.options.action = [](int pid) { ::kill(pid, SIGTERM); };
  const auto r = boot(b);
  CHECK(r.exit_status == 128 + SIGTERM);
  CHECK(r.err == "kvmm: stopped by signal TERM\n");
}

TEST_CASE("boot trace prints each phase up to init in order") {
  Boot b;
  b.args = {"--boot-trace"};
  b.options.conversation = {at_prompt("poweroff -f\n")};
  const auto r = boot(b);
  CHECK(r.exit_status == 0);
  // With `quiet` the console's first byte may come before or after init.
  const std::vector<std::string> phases = {
      "kernel loaded",       "VM created",           "memory mapped",
      "first KVM_RUN",       "guest: init started",  "guest: modules loaded",
      "guest: ready",        "guest powered off"};
  size_t at = 0;
  for (const std::string& phase : phases) {
    const size_t found = r.err.find(" ms CPU  " + phase + "\n", at);
    CHECK(found != std::string::npos);
    if (found != std::string::npos) at = found;
  }
  CHECK(r.err.find(" ms CPU  first console byte\n") != std::string::npos);
  // The kernel's start, placed by the uptime init gives with its first
  // mark: after kvmm first ran the vCPU, before init started. Its CPU time
  // is not known.
  auto wall_ms_of = [&r](const std::string& tail) {
    for (const std::string& line : lines_of(r.err)) {
      if (line.size() > tail.size() && line.ends_with(tail)) {
        double ms = -1;
        std::istringstream(line.substr(line.find("boot-trace") + 10)) >> ms;
        return ms;
      }
    }
    return -1.0;
  };
  const double kernel_start = wall_ms_of(" - ms CPU  kernel started (by the guest's clock)");
  const double first_run = wall_ms_of(" ms CPU  first KVM_RUN");
  const double init_started = wall_ms_of(" ms CPU  guest: init started");
  REQUIRE(kernel_start >= 0);
  CHECK(first_run <= kernel_start);
  CHECK(kernel_start <= init_started);
}

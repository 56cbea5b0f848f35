// memtest86+ as Debian builds it (package memtest86+), a bzImage that is no
// Linux: kvmm enters it at its 64-bit entry, it finds its memory in the e820
// map and tests it, printing on the serial console; SIGTERM ends the run.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/run_process.h"

using namespace kvmm::testing;

namespace {

const std::string kImage = "/boot/memtest86+x64.bin";
// memtest86+ redraws its screen on the serial console every few seconds: the
// running test's number and name appear there. Tests #0-#2 (address tests)
// are short and may pass unseen; the moving-inversions tests (#3 to #6) fill
// most of a pass.
const std::string kRunning = "  [Moving inversions, ";

// memtest86+ under kvmm with `cmdline` and `args` (64 MiB of RAM), stopped by
// SIGTERM once it is moving inversions; none, with a warning, when the image
// is not installed.
std::optional<ProcessResult> run_memtest(const std::string& cmdline,
                                         const std::vector<std::string>& args) {
  if (!std::filesystem::exists(kImage)) {
    WARN("skipped: " << kImage << " is missing (Debian package memtest86+)");
    return std::nullopt;
  }
  ProcessOptions options;
  options.action_when_output_has = kRunning;
  options.action = [](int pid) { ::kill(pid, SIGTERM); };
  // A run takes 7-13 s in the nested KVM host; about one first run in six
  // in a freshly booted nested host stops after drawing its first screen
  // (cause not found), and the test's attempts are better spent retrying.
  options.timeout = std::chrono::seconds(60);
  std::vector<std::string> argv = {KVMM_BINARY, "run",     "--kernel", kImage,
                                   "--cmdline", cmdline, "--mem",    "64M"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = run_process(argv, options);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE_FALSE(r.timed_out);
  CHECK(r.out.find(kRunning) != std::string::npos);
  CHECK(r.exit_status == 128 + SIGTERM);
  // memtest86+ switches off the floppy motor (port 0x3f2) and hides the VGA
  // cursor (0x3d4/0x3d5): ports that read as absent, without a note.
  CHECK(r.err == "kvmm: stopped by signal TERM\n");
  return r;
}

}  // namespace

TEST_CASE("memtest86+ from Debian boots, tests memory on the serial console and stops on SIGTERM") {
  // nosmp: memtest86+ then reads no ACPI tables and starts no other CPUs.
  const auto r = run_memtest("console=ttyS0,115200 nosmp", {});
  if (!r) return;
  INFO("stdout:\n" << r->out);
  CHECK(r->out.find("Memtest86+ v6.10") != std::string::npos);
  // The memory it found: the e820 map kvmm wrote in the zero page.
  const size_t memory = r->out.find("Memory  :");
  REQUIRE(memory != std::string::npos);
  CHECK(r->out.substr(memory, 20).find(" 64MB") != std::string::npos);
  // No errors so far: the last count drawn is 0.
  const size_t errors = r->out.rfind("Errors: ");
  REQUIRE(errors != std::string::npos);
  CHECK(r->out.substr(errors, 10) == "Errors: 0 ");
}

TEST_CASE("memtest86+ from Debian finds 2 vCPUs in kvmm's ACPI tables and tests with both") {
  const auto r = run_memtest("console=ttyS0,115200", {"--cpus", "2"});
  if (!r) return;
  INFO("stdout:\n" << r->out);
  // The MADT's two processors, both started (INIT-SIPI-SIPI), in parallel mode.
  CHECK(r->out.find("SMP: 2T (PAR)") != std::string::npos);
}

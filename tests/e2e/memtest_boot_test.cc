// memtest86+ as Debian builds it (package memtest86+), a bzImage that is no
// Linux: kvmm enters it at its 64-bit entry, it finds its memory in the e820
// map and tests it, printing on the serial console; SIGTERM ends the run.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <string>

#include "tests/support/run_process.h"

using namespace kvmm::testing;

TEST_CASE("memtest86+ from Debian boots, tests memory on the serial console and stops on SIGTERM") {
  const std::string image = "/boot/memtest86+x64.bin";
  if (!std::filesystem::exists(image)) {
    WARN("skipped: " << image << " is missing (Debian package memtest86+)");
    return;
  }
  ProcessOptions options;
  // memtest86+ redraws its screen on the serial console every few seconds:
  // the running test's number and name appear there. Tests #0-#2 (address
  // tests) are short and may pass unseen; the moving-inversions tests (#3 to
  // #6) fill most of a pass.
  const std::string running = "  [Moving inversions, ";
  options.action_when_output_has = running;
  options.action = [](int pid) { ::kill(pid, SIGTERM); };
  options.timeout = std::chrono::seconds(150);
  // nosmp: memtest86+ then reads no ACPI tables and starts no other CPUs.
  const ProcessResult r =
      run_process({KVMM_BINARY, "run", "--kernel", image, "--cmdline",
                   "console=ttyS0,115200 nosmp", "--mem", "64M"},
                  options);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE_FALSE(r.timed_out);
  CHECK(r.out.find("Memtest86+ v6.10") != std::string::npos);
  CHECK(r.out.find(running) != std::string::npos);
  // The memory it found: the e820 map kvmm wrote in the zero page.
  const size_t memory = r.out.find("Memory  :");
  REQUIRE(memory != std::string::npos);
  CHECK(r.out.substr(memory, 20).find(" 64MB") != std::string::npos);
  // No errors so far: the last count drawn is 0.
  const size_t errors = r.out.rfind("Errors: ");
  REQUIRE(errors != std::string::npos);
  CHECK(r.out.substr(errors, 10) == "Errors: 0 ");
  CHECK(r.exit_status == 128 + SIGTERM);
  // memtest86+ switches off the floppy motor (port 0x3f2) and hides the VGA
  // cursor (0x3d4/0x3d5): ports that read as absent, without a note.
  CHECK(r.err == "kvmm: stopped by signal TERM\n");
}

TEST_CASE("memtest86+ from Debian finds 2 vCPUs in kvmm's ACPI tables and tests with both") {
  const std::string image = "/boot/memtest86+x64.bin";
  if (!std::filesystem::exists(image)) {
    WARN("skipped: " << image << " is missing (Debian package memtest86+)");
    return;
  }
  ProcessOptions options;
  const std::string running = "  [Moving inversions, ";
  options.action_when_output_has = running;
  options.action = [](int pid) { ::kill(pid, SIGTERM); };
  options.timeout = std::chrono::seconds(150);
  const ProcessResult r = run_process({KVMM_BINARY, "run", "--kernel", image, "--cmdline",
                                       "console=ttyS0,115200", "--cpus", "2", "--mem", "64M"},
                                      options);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE_FALSE(r.timed_out);
  CHECK(r.out.find(running) != std::string::npos);
  // The MADT's two processors, both started (INIT-SIPI-SIPI), in parallel mode.
  CHECK(r.out.find("SMP: 2T (PAR)") != std::string::npos);
  CHECK(r.exit_status == 128 + SIGTERM);
  CHECK(r.err.ends_with("kvmm: stopped by signal TERM\n"));
}

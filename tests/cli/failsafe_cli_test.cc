// Inputs that used to hang kvmm or pass silently, refused or warned about
// before KVM is touched (label cli).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/refusal.h"
#include "tests/support/run_process.h"

using kvmm::testing::check_refused;
using kvmm::testing::ProcessResult;
using kvmm::testing::run_process;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/kvmm-cli-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("a FIFO named as the kernel or the initrd is refused, not waited for") {
  // run_process's timeout (45 s) is the failure bound: the open used to block forever.
  TempDir dir;
  const std::string fifo = dir.path + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  check_refused({"run", "--kernel", fifo}, "kernel " + fifo + " is not a regular file");
  check_refused({"run", "--flat", fifo}, "flat image " + fifo + " is not a regular file");
}

TEST_CASE("a --mem beyond the host's available memory is warned about in one line") {
  // 1T is more than this host has; guest RAM is mapped lazily, so nothing is
  // allocated, and the missing guest ends the run before KVM.
  const ProcessResult result =
      run_process({KVMM_BINARY, "run", "--flat", "/nonexistent/guest.bin", "--mem", "1T"});
  INFO("stderr: " << result.err);
  CHECK(result.exit_status == 1);
  const std::vector<std::string> lines = kvmm::testing::lines_of(result.err);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].starts_with("kvmm: warning: --mem 1048576M is more than this host's available memory ("));
  CHECK(lines[0].find("MemAvailable in /proc/meminfo") != std::string::npos);
  CHECK(lines[1].find("/nonexistent/guest.bin does not exist") != std::string::npos);
}

TEST_CASE("a --mem the host has room for gives no warning") {
  const ProcessResult result =
      run_process({KVMM_BINARY, "run", "--flat", "/nonexistent/guest.bin", "--mem", "1M"});
  CHECK(result.err.find("warning") == std::string::npos);
}

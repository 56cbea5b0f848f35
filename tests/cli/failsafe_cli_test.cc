// Inputs that used to hang kvmm or pass silently, refused or warned about
// before KVM is touched (label cli).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "tests/support/refusal.h"

using kvmm::testing::check_refused;

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

// --jail's refusals, each one line before anything is opened: a directory
// that is missing or not one, ids that are no ids or root's, and a kvmm
// without root. Entering the jail: tests/kvm/jail_guest_test.cc.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/refusal.h"
#include "tests/support/run_process.h"

using kvmm::testing::check_refused;
using kvmm::testing::check_usage_error;
using kvmm::testing::ProcessResult;
using kvmm::testing::run_process;

namespace {

const std::string kHello = std::string(KVMM_GUEST_DIR) + "/hello_long.bin";

// A run of hello_long with no API socket (its own warning line, without
// root, would make two lines) and these --jail arguments.
std::vector<std::string> jailed(const std::string& jail) {
  return {"run", "--flat", kHello, "--mode", "long", "--api-socket", "none", "--jail", jail};
}

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/kvmm-jail-cli-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("a --jail directory that does not exist is refused") {
  check_refused(jailed("/nonexistent/kvmm-jail,uid=65534,gid=65534"),
                "--jail /nonexistent/kvmm-jail does not exist: create it");
}

TEST_CASE("a --jail that is not a directory is refused") {
  check_refused(jailed(kHello + ",uid=65534,gid=65534"), "is not a directory");
}

TEST_CASE("jail ids that are not numbers are refused as usage errors") {
  check_usage_error(jailed("/tmp,uid=nobody"), "--jail uid=nobody is not a user id");
  check_usage_error(jailed("/tmp,uid=1,gid=-5"), "--jail gid=-5 is not a group id");
  check_usage_error(jailed("/tmp,uid=1,shell=/bin/sh"), "is not uid=N or gid=N");
  check_usage_error(jailed(""), "--jail needs a directory");
}

TEST_CASE("a jail with root's ids is refused: root can leave a chroot") {
  if (::geteuid() != 0) {
    WARN("needs root (without it kvmm refuses --jail first): skipped");
    return;
  }
  TempDir dir;  // Root's: the default ids would be root's.
  check_refused(jailed(dir.path), "would leave kvmm with root's user id (the owner of");
  check_refused(jailed(dir.path + ",uid=0,gid=65534"), "root's user id, and root can leave");
  check_refused(jailed(dir.path + ",uid=65534,gid=0"), "root's group id, and root can leave");
}

TEST_CASE("a jail without root is refused with the fix") {
  TempDir dir;
  if (::geteuid() != 0) {
    check_refused(jailed(dir.path + ",uid=65534,gid=65534"), "run as root, or drop --jail");
    return;
  }
  if (!std::filesystem::exists("/usr/bin/setpriv")) {
    WARN("needs setpriv to run kvmm as another user: skipped");
    return;
  }
  std::vector<std::string> args = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                   "--clear-groups", KVMM_BINARY};
  for (const std::string& arg : jailed(dir.path + ",uid=65534,gid=65534")) args.push_back(arg);
  const ProcessResult r = run_process(args);
  INFO("stderr: " << r.err);
  CHECK(r.exit_status == 1);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "kvmm: --jail needs root (chroot and the change of user and group ids need "
        "CAP_SYS_CHROOT, CAP_SETUID and CAP_SETGID): run as root, or drop --jail\n");
}

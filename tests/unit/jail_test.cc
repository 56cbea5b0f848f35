// --jail's option (vmm/security/jail.h): what it parses and what it refuses
// before anything is opened. Entering the jail needs root and is tested on a
// real guest (tests/kvm/jail_guest_test.cc).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "app/cli/options.h"
#include "base/util/error.h"
#include "vmm/security/jail.h"

using namespace kvmm;

namespace {

VmConfig parse_run(std::vector<std::string_view> args) {
  args.insert(args.begin(), {"run", "--flat", "g.bin"});
  return std::get<RunCommand>(parse_command_line(args)).config;
}

}  // namespace

TEST_CASE("run parses --jail DIR with and without ids") {
  CHECK_FALSE(parse_run({}).jail.has_value());

  const VmConfig plain = parse_run({"--jail", "/srv/jail"});
  REQUIRE(plain.jail.has_value());
  CHECK(plain.jail->dir == "/srv/jail");
  CHECK_FALSE(plain.jail->uid.has_value());
  CHECK_FALSE(plain.jail->gid.has_value());

  const VmConfig ids = parse_run({"--jail=/srv/jail,uid=65534,gid=100"});
  REQUIRE(ids.jail.has_value());
  CHECK(ids.jail->dir == "/srv/jail");
  CHECK(ids.jail->uid == 65534u);
  CHECK(ids.jail->gid == 100u);

  const JailOptions gid_first = parse_jail_option("rel/dir,gid=7,uid=8");
  CHECK(gid_first.dir == "rel/dir");
  CHECK(gid_first.uid == 8u);
  CHECK(gid_first.gid == 7u);
  CHECK(parse_jail_option("d,uid=4294967294").uid == 4294967294u);
}

TEST_CASE("run refuses a malformed --jail with the part named") {
  CHECK_THROWS_AS(parse_run({"--jail", ""}), UsageError);
  CHECK_THROWS_WITH(parse_run({"--jail", ""}), Catch::Contains("--jail needs a directory"));
  CHECK_THROWS_WITH(parse_run({"--jail", ",uid=1"}), Catch::Contains("--jail needs a directory"));
  CHECK_THROWS_WITH(parse_run({"--jail", "/j,uid=abc"}),
                    Catch::Contains("--jail uid=abc is not a user id"));
  CHECK_THROWS_WITH(parse_run({"--jail", "/j,gid=-1"}),
                    Catch::Contains("--jail gid=-1 is not a group id"));
  // -1 means "unchanged" to setresuid(2): no id.
  CHECK_THROWS_WITH(parse_run({"--jail", "/j,uid=4294967295"}),
                    Catch::Contains("is not a user id"));
  CHECK_THROWS_WITH(parse_run({"--jail", "/j,uid=4294967296"}),
                    Catch::Contains("is not a user id"));
  CHECK_THROWS_WITH(parse_run({"--jail", "/j,uid="}), Catch::Contains("is not a user id"));
  CHECK_THROWS_WITH(parse_run({"--jail", "/j,uid=1,uid=2"}), Catch::Contains("uid= twice"));
  CHECK_THROWS_WITH(parse_run({"--jail", "/j,gid=1,gid=2"}), Catch::Contains("gid= twice"));
  CHECK_THROWS_WITH(parse_run({"--jail", "/j,user=1"}),
                    Catch::Contains("'user=1' is not uid=N or gid=N"));
  CHECK_THROWS_WITH(parse_run({"--jail", "/a,b"}), Catch::Contains("may not contain a comma"));
}

TEST_CASE("a --jail directory that is missing or not a directory is refused") {
  CHECK_THROWS_WITH(resolve_jail(JailOptions{.dir = "/nonexistent/kvmm-jail"}),
                    Catch::Contains("--jail /nonexistent/kvmm-jail does not exist: create it"));
  CHECK_THROWS_WITH(resolve_jail(JailOptions{.dir = "/proc/self/status"}),
                    Catch::Contains("--jail /proc/self/status is not a directory"));
}

TEST_CASE("a jail that keeps root's ids, or a kvmm without root, is refused") {
  char dir[] = "/tmp/kvmm-jail-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  if (::geteuid() != 0) {
    CHECK_THROWS_WITH(resolve_jail(JailOptions{.dir = dir, .uid = 1000, .gid = 1000}),
                      Catch::Contains("run as root, or drop --jail"));
  } else {
    // mkdtemp's directory is root's: the default ids would be root's.
    CHECK_THROWS_WITH(resolve_jail(JailOptions{.dir = dir}),
                      Catch::Contains("root's user id (the owner of"));
    CHECK_THROWS_WITH(resolve_jail(JailOptions{.dir = dir, .uid = 0, .gid = 5}),
                      Catch::Contains("root's user id, and root can leave a chroot"));
    CHECK_THROWS_WITH(resolve_jail(JailOptions{.dir = dir, .uid = 5}),
                      Catch::Contains("root's group id (the group of"));
    const JailPlan plan = resolve_jail(JailOptions{.dir = dir, .uid = 65534, .gid = 65533});
    CHECK(plan.dir == std::filesystem::path(dir));
    CHECK(plan.uid == 65534u);
    CHECK(plan.gid == 65533u);
    REQUIRE(::chown(dir, 1234, 4321) == 0);
    const JailPlan owner = resolve_jail(JailOptions{.dir = dir});
    CHECK(owner.uid == 1234u);
    CHECK(owner.gid == 4321u);
  }
  std::filesystem::remove_all(dir);
}

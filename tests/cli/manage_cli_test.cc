// The management verbs and the serial options refuse bad input in one line,
// before any guest runs (docs/api.md).
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/refusal.h"
#include "tests/support/vm_api.h"

using kvmm::testing::check_usage_error;
using kvmm::testing::kvmm_client;
using kvmm::testing::RunDir;

namespace {
const std::string kHello = std::string(KVMM_GUEST_DIR) + "/hello_long.bin";
}  // namespace

TEST_CASE("a verb that needs a VM name is refused without one or with a bad one") {
  check_usage_error({"info"}, "kvmm info needs a NAME");
  check_usage_error({"pause", "../etc"}, "bad VM name '../etc'");
  check_usage_error({"stats", "vm", "--count", "3"}, "--count is for --watch");
  check_usage_error({"stats", "vm", "--watch", "0"}, "--watch 0 is not a number of seconds");
  check_usage_error({"shutdown", "vm", "--timeout", "x"}, "--timeout x is not a number");
  check_usage_error({"run", "--flat", kHello, "--name", "a b"}, "bad VM name 'a b'");
}

TEST_CASE("a VM that is not running is named as such") {
  RunDir dir;
  for (const char* verb : {"info", "pause", "resume", "destroy", "stats", "console"}) {
    INFO(verb);
    const auto r = kvmm_client(dir, {verb, "ghost"});
    CHECK(r.exit_status == 1);
    CHECK(r.err.find("no VM named 'ghost' is running") != std::string::npos);
  }
  const auto list = kvmm_client(dir, {"list"});
  CHECK(list.exit_status == 0);
  CHECK(list.out.find("NAME") == 0);
}

TEST_CASE("serial backends and --detach are checked together") {
  check_usage_error({"run", "--flat", kHello, "--serial", "tcp:1234"},
                    "--serial tcp:1234 is not a serial backend");
  check_usage_error({"run", "--flat", kHello, "--detach", "--serial", "stdio"},
                    "a detached VM has no terminal");
  check_usage_error({"run", "--flat", kHello, "--detach", "--api-socket", "none"},
                    "--detach needs the API");
  check_usage_error({"run", "--flat", kHello, "--console-log", "/tmp/x"},
                    "--console-log is for --serial socket");
  check_usage_error({"run", "--flat", kHello, "--serial", "socket", "--api-socket", "none"},
                    "--serial socket listens beside the API socket");
}

// kvmm run's --seccomp option (docs/security.md).
#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "app/cli/options.h"
#include "base/util/error.h"

using namespace kvmm;

namespace {
VmConfig parse_run(std::vector<std::string_view> args) {
  args.insert(args.begin(), {"run", "--flat", "g.bin"});
  return std::get<RunCommand>(parse_command_line(args)).config;
}
}  // namespace

TEST_CASE("run confines its threads unless told otherwise") {
  CHECK(parse_run({}).seccomp == SeccompMode::kOn);
  CHECK(parse_run({"--seccomp=on"}).seccomp == SeccompMode::kOn);
  CHECK(parse_run({"--seccomp", "log"}).seccomp == SeccompMode::kLog);
  CHECK(parse_run({"--seccomp=off"}).seccomp == SeccompMode::kOff);
  // A machine built outside the CLI (tests, tools) is not confined.
  CHECK(VmConfig{}.seccomp == SeccompMode::kOff);
}

TEST_CASE("run rejects an unknown --seccomp mode and names the valid ones") {
  CHECK_THROWS_AS(parse_run({"--seccomp=maybe"}), UsageError);
  CHECK_THROWS_WITH(parse_run({"--seccomp=maybe"}),
                    Catch::Contains("--seccomp=maybe") && Catch::Contains("on, log or off"));
}

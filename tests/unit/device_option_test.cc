// `kvmm run --device NAME`: the debug devices a Linux guest gets only when
// asked for.
#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "app/cli/options.h"
#include "base/util/error.h"

using namespace kvmm;

namespace {
Command parse(std::vector<std::string_view> args) { return parse_command_line(args); }
}  // namespace

TEST_CASE("run --device asks for the debug exit and the test device, repeatable") {
  const Command plain = parse({"run", "--kernel", "vmlinuz"});
  CHECK(std::get<RunCommand>(plain).config.debug_devices == DebugDevices{});

  const Command one = parse({"run", "--kernel", "vmlinuz", "--device", "debug-exit"});
  CHECK(std::get<RunCommand>(one).config.debug_devices ==
        DebugDevices{.debug_exit = true, .test_device = false});

  const Command both = parse(
      {"run", "--kernel", "vmlinuz", "--device=testdev", "--device", "debug-exit"});
  CHECK(std::get<RunCommand>(both).config.debug_devices ==
        DebugDevices{.debug_exit = true, .test_device = true});

  CHECK_THROWS_WITH(parse({"run", "--kernel", "vmlinuz", "--device", "gpu"}),
                    Catch::Contains("--device gpu is not a device: use debug-exit or testdev"));
}

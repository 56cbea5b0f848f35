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
        DebugDevices{.debug_exit = true, .test_device = false, .isa_debug_exit = {}, .pc_testdev = false});

  const Command both = parse(
      {"run", "--kernel", "vmlinuz", "--device=testdev", "--device", "debug-exit"});
  CHECK(std::get<RunCommand>(both).config.debug_devices ==
        DebugDevices{.debug_exit = true, .test_device = true, .isa_debug_exit = {}, .pc_testdev = false});

  CHECK_THROWS_WITH(parse({"run", "--kernel", "vmlinuz", "--device", "gpu"}),
                    Catch::Contains("--device gpu is not a device: use debug-exit, testdev, "
                                    "isa-debug-exit[,iobase=N][,iosize=1|2|4] or pc-testdev"));
}

TEST_CASE("run --device isa-debug-exit takes QEMU's iobase and iosize, pc-testdev none") {
  auto devices = [](std::vector<std::string_view> extra) {
    std::vector<std::string_view> args = {"run", "--kernel", "x86/apic.flat"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::get<RunCommand>(parse(args)).config.debug_devices;
  };
  CHECK(devices({"--device", "isa-debug-exit"}).isa_debug_exit == IsaDebugExitPorts{});
  CHECK(devices({"--device", "isa-debug-exit,iobase=0xf4,iosize=4"}).isa_debug_exit ==
        IsaDebugExitPorts{.iobase = 0xf4, .iosize = 4});
  CHECK(devices({"--device", "isa-debug-exit,iobase=244"}).isa_debug_exit ==
        IsaDebugExitPorts{.iobase = 0xf4, .iosize = 1});
  CHECK(devices({"--device", "pc-testdev"}).pc_testdev);
  CHECK_FALSE(devices({"--device", "pc-testdev"}).isa_debug_exit);

  CHECK_THROWS_WITH(devices({"--device", "isa-debug-exit,iosize=3"}),
                    Catch::Contains("iosize must be 1, 2 or 4 (got '3')"));
  CHECK_THROWS_WITH(devices({"--device", "isa-debug-exit,iobase=0x1g"}),
                    Catch::Contains("iobase '0x1g' is not a port number"));
  CHECK_THROWS_WITH(devices({"--device", "isa-debug-exit,iobase=0xfffe,iosize=4"}),
                    Catch::Contains("runs past port 0xffff"));
  CHECK_THROWS_WITH(devices({"--device", "isa-debug-exit,speed=2"}),
                    Catch::Contains("unknown option 'speed=2'"));
  CHECK_THROWS_WITH(devices({"--device", "pc-testdev,x=1"}),
                    Catch::Contains("pc-testdev,x=1 takes no options"));
}

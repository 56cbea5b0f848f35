#include "vmm/cli/options.h"

#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "vmm/util/error.h"

using namespace kvmm;

namespace {
Command parse(std::vector<std::string_view> args) { return parse_command_line(args); }
}  // namespace

TEST_CASE("run parses --flat, --mode, --mem and --exit-log in both spellings") {
  auto command = parse({"run", "--flat", "g.bin", "--mode=long", "--mem", "64M", "--exit-log=-"});
  const auto& run = std::get<RunCommand>(command);
  CHECK(run.config.flat_image == "g.bin");
  CHECK(run.config.mode == CpuMode::kLong);
  CHECK(run.config.memory_bytes == 64ULL << 20);
  CHECK(run.config.exit_log_path == "-");
}

TEST_CASE("run defaults to real mode and 256 MiB") {
  const Command command = parse({"run", "--flat", "g.bin"});
  const auto& run = std::get<RunCommand>(command);
  CHECK(run.config.mode == CpuMode::kReal);
  CHECK(run.config.memory_bytes == 256ULL << 20);
  CHECK_FALSE(run.config.exit_log_path.has_value());
}

TEST_CASE("run rejects bad arguments with a message naming them") {
  CHECK_THROWS_WITH(parse({"run"}), Catch::Contains("--flat FILE"));
  CHECK_THROWS_WITH(parse({"run", "--flat", "g", "--mode", "virtual86"}),
                    Catch::Contains("use real, protected or long"));
  CHECK_THROWS_WITH(parse({"run", "--flat", "g", "--mem", "0"}), Catch::Contains("more than 0"));
  CHECK_THROWS_WITH(parse({"run", "--flat", "g", "--mem", "512K"}),
                    Catch::Contains("at least 1M"));
  CHECK_THROWS_WITH(parse({"run", "--flat"}), Catch::Contains("--flat needs a value"));
  CHECK_THROWS_WITH(parse({"run", "--flat", "g", "--frobnicate"}),
                    Catch::Contains("unknown option --frobnicate"));
  CHECK_THROWS_WITH(parse({"run", "stray"}), Catch::Contains("unexpected argument 'stray'"));
}

TEST_CASE("top-level commands") {
  CHECK(std::holds_alternative<HelpCommand>(parse({"--help"})));
  CHECK(std::holds_alternative<VersionCommand>(parse({"--version"})));
  CHECK(std::get<CheckCommand>(parse({"check", "--quiet"})).quiet);
  CHECK_FALSE(std::get<CheckCommand>(parse({"check"})).quiet);
  CHECK_THROWS_WITH(parse({}), Catch::Contains("needs a command"));
  CHECK_THROWS_WITH(parse({"launch"}), Catch::Contains("unknown command 'launch'"));
  CHECK_THROWS_WITH(parse({"check", "--quiet=yes"}), Catch::Contains("takes no value"));
}

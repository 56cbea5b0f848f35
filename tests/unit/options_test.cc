#include "app/cli/options.h"

#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "base/util/error.h"

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
  CHECK_THROWS_WITH(parse({"launch"}), "unknown command 'launch': see kvmm --help");
  // virsh's names and typos name the command meant.
  CHECK_THROWS_WITH(parse({"start"}), "unknown command 'start': did you mean run? see kvmm --help");
  CHECK_THROWS_WITH(parse({"dominfo", "web"}), Catch::Contains("did you mean info?"));
  CHECK_THROWS_WITH(parse({"suspend", "web"}), Catch::Contains("did you mean pause?"));
  CHECK_THROWS_WITH(parse({"lsit"}), Catch::Contains("did you mean list?"));
  CHECK_THROWS_WITH(parse({"chek"}), Catch::Contains("did you mean check?"));
  CHECK_THROWS_WITH(parse({"bnech"}), Catch::Contains("did you mean bench?"));
  CHECK_THROWS_WITH(parse({"check", "--quiet=yes"}), Catch::Contains("takes no value"));
}

TEST_CASE("run parses a Linux guest's options") {
  const Command command = parse({"run", "--kernel", "bzImage", "--initrd", "initrd.img",
                                 "--cmdline", "console=ttyS0 quiet", "--cpus", "4", "--pin",
                                 "0,1,1,0", "--boot-trace", "--mem", "1G"});
  const auto& config = std::get<RunCommand>(command).config;
  CHECK(config.kernel == "bzImage");
  CHECK(config.initrd == "initrd.img");
  CHECK(config.cmdline == "console=ttyS0 quiet");
  CHECK(config.cpus == 4);
  CHECK(config.pin == std::vector<int>{0, 1, 1, 0});
  CHECK(config.boot_trace);
  CHECK_FALSE(config.flat_image.has_value());
}

TEST_CASE("a Linux guest gets the default command line") {
  const Command command = parse({"run", "--kernel", "bzImage"});
  CHECK(std::get<RunCommand>(command).config.cmdline == kDefaultCmdline);
}

TEST_CASE("run --append keeps the default command line or --cmdline and adds to it") {
  const auto config = [](std::vector<std::string_view> args) {
    return std::get<RunCommand>(parse(args)).config;
  };
  const VmConfig appended = config({"run", "--kernel", "bzImage", "--append", "root=/dev/vda rw"});
  CHECK(appended.cmdline == kDefaultCmdline);
  CHECK_FALSE(appended.cmdline_given);
  CHECK(appended.cmdline_append == "root=/dev/vda rw");
  const VmConfig both =
      config({"run", "--kernel", "bzImage", "--cmdline", "console=ttyS0", "--append=quiet"});
  CHECK(both.cmdline == "console=ttyS0");
  CHECK(both.cmdline_given);
  CHECK(both.cmdline_append == "quiet");
  CHECK(config({"run", "--kernel", "bzImage"}).cmdline_append.empty());
}

TEST_CASE("run rejects contradictory guest options") {
  CHECK_THROWS_WITH(parse({"run", "--kernel", "k", "--flat", "f"}),
                    Catch::Contains("--flat and --kernel both given"));
  CHECK_THROWS_WITH(parse({"run", "--flat", "f", "--initrd", "i"}),
                    Catch::Contains("--initrd, --cmdline and --append need --kernel"));
  CHECK_THROWS_WITH(parse({"run", "--flat", "f", "--append", "quiet"}),
                    Catch::Contains("--initrd, --cmdline and --append need --kernel"));
  CHECK_THROWS_WITH(parse({"run", "--flat", "f", "--cpus", "2"}),
                    Catch::Contains("flat guests run on one vCPU"));
  CHECK_THROWS_WITH(parse({"run", "--kernel", "k", "--mode", "long"}),
                    Catch::Contains("--mode is for --flat guests"));
  CHECK_THROWS_WITH(parse({"run", "--kernel", "k", "--cpus", "0"}),
                    Catch::Contains("give at least 1"));
  CHECK_THROWS_WITH(parse({"run", "--kernel", "k", "--cpus", "two"}),
                    Catch::Contains("not a number of vCPUs"));
  CHECK_THROWS_WITH(parse({"run", "--kernel", "k", "--cpus", "2", "--pin", "0,1,2"}),
                    Catch::Contains("give at most one per vCPU"));
  CHECK_THROWS_WITH(parse({"run", "--kernel", "k", "--pin", "0,,1"}),
                    Catch::Contains("not a list of host CPUs"));
  CHECK_THROWS_WITH(parse({"run", "--kernel", "k", "--pin", "-1"}),
                    Catch::Contains("not a list of host CPUs"));
}

TEST_CASE("run --stats prints text to stderr and --stats=json prints JSON") {
  Command command = parse({"run", "--flat", "g.bin"});
  CHECK_FALSE(std::get<RunCommand>(command).config.stats.has_value());
  command = parse({"run", "--flat", "g.bin", "--stats"});
  const auto& text = std::get<RunCommand>(command).config.stats;
  REQUIRE(text.has_value());
  CHECK(text->to_stderr == StatsOutput::Format::kText);
  CHECK_FALSE(text->json_path.has_value());
  command = parse({"run", "--flat", "g.bin", "--stats=json"});
  CHECK(std::get<RunCommand>(command).config.stats->to_stderr == StatsOutput::Format::kJson);
  command = parse({"run", "--flat", "g.bin", "--stats=text"});
  CHECK(std::get<RunCommand>(command).config.stats->to_stderr == StatsOutput::Format::kText);
}

TEST_CASE("run --stats-file writes JSON to a file and combines with --stats") {
  Command command = parse({"run", "--flat", "g.bin", "--stats-file=s.json"});
  const auto& file_only = std::get<RunCommand>(command).config.stats;
  REQUIRE(file_only.has_value());
  CHECK(file_only->json_path == "s.json");
  CHECK_FALSE(file_only->to_stderr.has_value());
  command = parse({"run", "--flat", "g.bin", "--stats-file", "s.json", "--stats"});
  const auto& both = std::get<RunCommand>(command).config.stats;
  CHECK(both->json_path == "s.json");
  CHECK(both->to_stderr == StatsOutput::Format::kText);
}

TEST_CASE("run rejects bad --stats values") {
  CHECK_THROWS_WITH(parse({"run", "--flat", "g", "--stats=xml"}),
                    Catch::Contains("use --stats, --stats=text or --stats=json"));
  CHECK_THROWS_WITH(parse({"run", "--flat", "g", "--stats-file"}),
                    Catch::Contains("--stats-file needs a value"));
  CHECK_THROWS_WITH(parse({"run", "--flat", "g", "--stats-file="}),
                    Catch::Contains("needs a file name"));
  // The format is only ever inline: a separate word is not taken as one.
  CHECK_THROWS_WITH(parse({"run", "--flat", "g", "--stats", "json"}),
                    Catch::Contains("unexpected argument 'json'"));
}

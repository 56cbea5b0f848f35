// kvmm run --config FILE: the file goes through run's option table, the
// command line overrides it, refusals name the file and the key, and the
// config vm.info reports reads back to the same VM.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "app/api/api_json.h"
#include "app/cli/options.h"
#include "base/util/error.h"
#include "tests/support/test_files.h"

using namespace kvmm;
using kvmm::testing::TempFile;

namespace {

RunCommand parse_run(std::vector<std::string_view> args) {
  args.insert(args.begin(), "run");
  return std::get<RunCommand>(parse_command_line(args));
}

// `kvmm run --config FILE ARGS...` with `json` in FILE.
RunCommand run_with(std::string_view json, std::vector<std::string_view> args = {}) {
  const TempFile file(json);
  const std::string path = file.path.string();
  args.insert(args.begin(), {"--config", path});
  return parse_run(args);
}

// The refusal of `kvmm run --config FILE` with `json` in FILE, the file's
// path replaced by "FILE" so that tests can spell the whole message.
std::string refusal(std::string_view json) {
  const TempFile file(json);
  try {
    (void)parse_run({"--config", file.path.string()});
  } catch (const UsageError& e) {
    std::string message = e.what();
    const std::string path = file.path.string();
    if (message.starts_with(path)) message.replace(0, path.size(), "FILE");
    return message;
  }
  FAIL("the config was accepted: " << json);
  return "";
}

// vm.info's config object for a VM made by `run`.
std::string config_of(const RunCommand& run) {
  VmStatus status;
  status.name = run.name.empty() ? "vm" : run.name;
  status.config = &run.config;
  return nlohmann::ordered_json::parse(format_vm_info(status))["config"].dump(2);
}

}  // namespace

TEST_CASE("a config file sets run's options") {
  const RunCommand run = run_with(R"({"kernel": "bzImage", "initrd": "initrd.img",
      "cmdline": "console=ttyS0 quiet", "cpus": 2, "mem": "512M", "pin": "0,1",
      "vcpu-sched": "fifo:5", "halt-poll-ns": 0, "name": "web",
      "disk": ["root.img,ro", "data.img,cache=none"], "device": ["debug-exit"],
      "net": ["tap=tap0,mac=52:54:00:12:34:56"], "boot-trace": true, "stats": "json",
      "seccomp": "log"})");
  CHECK(run.config.kernel == "bzImage");
  CHECK(run.config.initrd == "initrd.img");
  CHECK(run.config.cmdline == "console=ttyS0 quiet");
  CHECK(run.config.cpus == 2);
  CHECK(run.config.memory_bytes == 512ull << 20);
  CHECK(run.config.pin == std::vector<int>{0, 1});
  REQUIRE(run.config.vcpu_sched);
  CHECK(run.config.vcpu_sched->priority == 5);
  CHECK(run.config.halt_poll_ns == 0u);
  CHECK(run.name == "web");
  REQUIRE(run.config.disks.size() == 2);
  CHECK(run.config.disks[0].access == DiskAccess::kReadOnly);
  CHECK(run.config.disks[1].cache == DiskCache::kNone);
  CHECK(run.config.debug_devices.debug_exit);
  REQUIRE(run.config.nets.size() == 1);
  CHECK(run.config.nets[0].tap == "tap0");
  CHECK(run.config.boot_trace);
  REQUIRE(run.config.stats);
  CHECK(run.config.stats->to_stderr == StatsOutput::Format::kJson);
  CHECK(run.config.seccomp == SeccompMode::kLog);
}

TEST_CASE("a flag set false and an optional value set true are as if not given") {
  const RunCommand run = run_with(R"({"flat": "g.bin", "boot-trace": false, "stats": true})");
  CHECK_FALSE(run.config.boot_trace);
  REQUIRE(run.config.stats);
  CHECK(run.config.stats->to_stderr == StatsOutput::Format::kText);
}

TEST_CASE("the command line overrides a scalar and replaces a list") {
  const RunCommand run = run_with(R"({"flat": "g.bin", "mode": "long", "cpus": 2,
      "disk": ["a.img", "b.img"]})",
                                  {"--cpus", "4", "--disk", "c.img"});
  CHECK(run.config.cpus == 4);
  CHECK(run.config.mode == CpuMode::kLong);  // From the file.
  REQUIRE(run.config.disks.size() == 1);
  CHECK(run.config.disks[0].path == "c.img");
}

TEST_CASE("the command line's guest and the file's checks meet after both") {
  // --mode in the file, --cpus on the command line: check_run sees both.
  CHECK(run_with(R"({"flat": "g.bin", "mode": "protected"})", {"--cpus", "2"}).config.cpus == 2);
  CHECK_THROWS_WITH(run_with(R"({"flat": "g.bin"})", {"--kernel", "bzImage"}),
                    Catch::Contains("--flat and --kernel both given"));
}

TEST_CASE("a config file's unknown key is refused by name") {
  CHECK(refusal(R"({"flat": "g.bin", "cpu": 2})") ==
        "FILE: \"cpu\": unknown key: did you mean \"cpus\"? the keys are kvmm run's option "
        "names without --, see kvmm run --help");
  CHECK(refusal(R"({"flat": "g.bin", "memory": "1G"})") ==
        "FILE: \"memory\": unknown key: did you mean \"mem\"? the keys are kvmm run's option "
        "names without --, see kvmm run --help");
  CHECK(refusal(R"({"flat": "g.bin", "turbo": true})") ==
        "FILE: \"turbo\": unknown key: the keys are kvmm run's option names without --, see "
        "kvmm run --help");
  CHECK_THAT(refusal(R"({"help": true})"), Catch::StartsWith("FILE: \"help\": unknown key"));
  CHECK_THAT(refusal(R"({"config": "other.json"})"),
             Catch::StartsWith("FILE: \"config\": a config file cannot name another"));
}

TEST_CASE("a config file's bad value is refused with the key and the option's words") {
  CHECK(refusal(R"({"flat": "g.bin", "cpus": "abc"})") ==
        "FILE: \"cpus\": --cpus abc is not a number of vCPUs: give e.g. --cpus 4");
  CHECK(refusal(R"({"flat": "g.bin", "cpus": -1})") ==
        "FILE: \"cpus\": --cpus -1 is not a number of vCPUs: give e.g. --cpus 4");
  CHECK_THAT(refusal(R"({"flat": "g.bin", "disk": ["a.img,bogus"]})"),
             Catch::StartsWith("FILE: \"disk\": --disk: unknown option 'bogus'"));
  CHECK_THAT(refusal(R"({"flat": "g.bin", "mode": "virtual86"})"),
             Catch::StartsWith("FILE: \"mode\": --mode virtual86 is not a CPU mode"));
}

TEST_CASE("a config file's value of the wrong JSON type is refused") {
  CHECK(refusal(R"({"flat": "g.bin", "boot-trace": "yes"})") ==
        "FILE: \"boot-trace\": --boot-trace is a flag: give true or false, not a string");
  CHECK_THAT(refusal(R"({"flat": "g.bin", "cpus": [1, 2]})"),
             Catch::StartsWith("FILE: \"cpus\": --cpus is given once: write one string"));
  CHECK_THAT(refusal(R"({"flat": "g.bin", "disk": [{"path": "a.img"}]})"),
             Catch::StartsWith("FILE: \"disk\": --disk takes a string") &&
                 Catch::EndsWith("not an object in the list"));
  CHECK_THAT(refusal(R"({"flat": "g.bin", "stats": 1})"),
             Catch::StartsWith("FILE: \"stats\": --stats takes true or a string"));
  CHECK_THAT(refusal(R"({"flat": "g.bin", "kernel": null})"),
             Catch::StartsWith("FILE: \"kernel\": --kernel takes a string") &&
                 Catch::EndsWith("not null"));
  CHECK_THAT(refusal(R"(["--flat", "g.bin"])"),
             Catch::StartsWith("FILE: the config is a list: write one object"));
}

TEST_CASE("malformed JSON is refused with its line and column") {
  CHECK_THAT(refusal("{\"flat\": \"g.bin\",\n \"cpus\": 2,\n}"),
             Catch::StartsWith("FILE: not JSON: parse error at line 3, column 1"));
}

TEST_CASE("a missing config file is refused with its path") {
  CHECK_THROWS_WITH(parse_run({"--config", "/nonexistent/vm.json"}),
                    "/nonexistent/vm.json: cannot read the config file: No such file or "
                    "directory: give the path of a JSON file");
  CHECK_THROWS_WITH(parse_run({"--config"}), Catch::Contains("--config needs a value"));
}

TEST_CASE("vm.info's config reads back to the same VM") {
  const std::vector<std::vector<std::string_view>> command_lines = {
      {"--kernel", "bzImage", "--initrd", "initrd.img", "--cmdline", "console=ttyS0 quiet",
       "--append", "root=/dev/vda rw", "--cpus", "2", "--mem", "1536K", "--pin", "1,0", "--vcpu-sched", "rr:3", "--halt-poll-ns",
       "5000", "--disk", "root.img,ro,serial=ROOT1", "--disk", "data.img,cache=none", "--net",
       "tap=kvmm-tap0,mac=52:54:00:00:00:01,offload=off,vhost=on", "--net", "fd=3",
       "--device", "testdev", "--device", "debug-exit", "--boot-trace", "--exit-log", "-",
       "--stats=json", "--stats-file", "s.json", "--seccomp", "off", "--name", "web"},
      {"--flat", "g.bin", "--mode", "long", "--cpus", "3"},
      {"--flat", "g.bin"},
  };
  for (const auto& args : command_lines) {
    const RunCommand first = parse_run(args);
    const std::string config = config_of(first);
    CAPTURE(config);
    const RunCommand again = run_with(config);
    CHECK(config_of(again) == config);
    CHECK(again.config.cpus == first.config.cpus);
    CHECK(again.config.memory_bytes == first.config.memory_bytes);
    CHECK(again.config.nets.size() == first.config.nets.size());
    for (size_t i = 0; i < first.config.nets.size(); ++i) {
      CHECK(again.config.nets[i].mac == first.config.nets[i].mac);
    }
  }
}

TEST_CASE("kvmm info NAME --config asks for the config alone, not with --json") {
  const auto info = std::get<ManageCommand>(parse_command_line({{"info", "web", "--config"}}));
  CHECK(info.action == ManageCommand::Action::kInfo);
  CHECK(info.config);
  CHECK_FALSE(info.json);
  CHECK_THROWS_WITH(parse_command_line({{"info", "web", "--json", "--config"}}),
                    Catch::StartsWith("--json and --config both given"));
}

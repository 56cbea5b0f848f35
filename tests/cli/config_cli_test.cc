// kvmm run --config FILE refuses a bad file in one line naming the file and
// the key, with exit status 2, before anything runs.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/refusal.h"
#include "tests/support/run_process.h"

using kvmm::testing::check_usage_error;
using kvmm::testing::run_process;

namespace {

const std::string kHello = std::string(KVMM_GUEST_DIR) + "/hello_long.bin";

// A config file under /tmp holding `json`, removed when the object goes.
struct ConfigFile {
  std::filesystem::path path;
  explicit ConfigFile(const std::string& json) {
    char name[] = "/tmp/kvmm-config-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path) << json;
  }
  ~ConfigFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("a config file's bad value is a usage error naming the file and the key") {
  const ConfigFile file(R"({"flat": ")" + kHello + R"(", "mode": "long", "cpus": "abc"})");
  check_usage_error({"run", "--config", file.path.string()},
                    file.path.string() + ": \"cpus\": --cpus abc is not a number of vCPUs");
}

TEST_CASE("a config file's unknown key and malformed JSON are usage errors") {
  const ConfigFile unknown(R"({"flat": ")" + kHello + R"(", "turbo": true})");
  check_usage_error({"run", "--config", unknown.path.string()},
                    unknown.path.string() + ": \"turbo\": unknown key");
  const ConfigFile malformed("{\"flat\": \"g.bin\"");
  check_usage_error({"run", "--config", malformed.path.string()},
                    "not JSON: parse error at line 1");
  check_usage_error({"run", "--config", "/nonexistent/vm.json"},
                    "/nonexistent/vm.json: cannot read the config file");
}

TEST_CASE("kvmm run --help lists --config and kvmm info --help its --config") {
  const auto run = run_process({KVMM_BINARY, "run", "--help"});
  CHECK(run.exit_status == 0);
  CHECK(run.out.find("  --config FILE") != std::string::npos);
  const auto info = run_process({KVMM_BINARY, "info", "--help"});
  CHECK(info.exit_status == 0);
  CHECK(info.out.find("  --config") != std::string::npos);
}

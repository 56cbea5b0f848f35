#include "tests/kvm/guest_runner.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace kvmm::testing {

std::string guest_path(const std::string& name) {
  return std::string(KVMM_GUEST_DIR) + "/" + name + ".bin";
}

GuestRun run_guest(const std::string& name, const std::string& mode, ProcessOptions options) {
  return run_guest(name, mode, {}, std::move(options));
}

GuestRun run_guest(const std::string& name, const std::string& mode,
                   const std::vector<std::string>& extra_args, ProcessOptions options) {
  char dir[] = "/tmp/kvmm-exits-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string log = std::string(dir) + "/exits";
  GuestRun run;
  std::vector<std::string> args = {KVMM_BINARY, "run",   "--flat",     guest_path(name),
                                   "--mode",    mode,    "--mem",      "64M",
                                   "--exit-log", log};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  run.result = run_process(args, options);
  run.exits = read_text(log);
  std::filesystem::remove_all(dir);
  INFO("stderr: " << run.result.err);
  REQUIRE_FALSE(run.result.timed_out);
  return run;
}

std::string print_exits(const std::string& text) {
  std::string exits;
  char line[96];
  for (unsigned char c : text) {
    std::snprintf(line, sizeof line, "vcpu0 pio-out port=0x3f8 size=1 count=1 data=0x%x\n", c);
    exits += line;
  }
  return exits;
}

}  // namespace kvmm::testing

#include "tests/support/refusal.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

namespace kvmm::testing {

namespace {

void check_refused_with(int status, const std::vector<std::string>& args, const std::string& needle,
                        const ProcessOptions& options) {
  std::vector<std::string> argv = {KVMM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessResult r = run_process(argv, options);
  INFO("stderr: " << r.err);
  CHECK(r.exit_status == status);
  CHECK_FALSE(r.timed_out);
  CHECK(r.out.empty());
  const auto lines = lines_of(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("kvmm: ", 0) == 0);
  CHECK(lines[0].find(needle) != std::string::npos);
}

}  // namespace

void check_refused(const std::vector<std::string>& args, const std::string& needle,
                   const ProcessOptions& options) {
  check_refused_with(1, args, needle, options);
}

void check_usage_error(const std::vector<std::string>& args, const std::string& needle,
                       const ProcessOptions& options) {
  check_refused_with(2, args, needle, options);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace kvmm::testing

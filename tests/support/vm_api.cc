#include "tests/support/vm_api.h"

#include <stdlib.h>

#include <fstream>
#include <stdexcept>

namespace kvmm::testing {

RunDir::RunDir() {
  char pattern[] = "/tmp/kvmm-run-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  path = pattern;
}

RunDir::~RunDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

ProcessResult kvmm_client(const RunDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {KVMM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.environment = dir.environment();
  options.timeout = std::chrono::seconds(60);
  return run_process(argv, options);
}

std::string thread_name(int pid, int tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace kvmm::testing

#pragma once
// The contract for every input kvmm refuses: exit status 1 (a host or setup
// failure) or 2 (a usage error), nothing on stdout, and exactly one line on
// stderr, "kvmm: ...", containing `needle`.
#include <string>
#include <vector>

#include "tests/support/run_process.h"

namespace kvmm::testing {

// Runs build/kvmm with `args` and checks the contract with Catch assertions:
// check_refused for a host or setup failure (status 1), check_usage_error for
// a bad command line (status 2).
void check_refused(const std::vector<std::string>& args, const std::string& needle,
                   const ProcessOptions& options = {});
void check_usage_error(const std::vector<std::string>& args, const std::string& needle,
                       const ProcessOptions& options = {});

// The whole file, or "" when it cannot be read.
std::string read_text(const std::string& path);

}  // namespace kvmm::testing

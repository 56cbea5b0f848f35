#pragma once
// Runs a parsed `kvmm bench` command: checks every output can be written
// (and gnuplot exists) before the benchmark starts, runs it, prints the
// table on `out` and writes the files asked for.
#include <filesystem>
#include <ostream>
#include <string>

#include "app/bench/bench_options.h"

namespace kvmm {

// Where the benchmark guests are: $KVMM_GUEST_DIR, else guest/ next to the
// kvmm executable (build/guest for build/kvmm).
std::filesystem::path bench_guest_dir();

// Returns kvmm's exit status; throws Error on bad input or a host problem.
int run_bench_command(const BenchCommand& command, std::ostream& out,
                      const std::string& kvmm_version);

}  // namespace kvmm

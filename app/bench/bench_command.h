#pragma once
// Runs a parsed `kvmm bench` command: checks every output can be written
// (and gnuplot exists) before the benchmark starts, runs it, prints the
// table on `out` and writes the files asked for.
#include <ostream>
#include <string>

#include "app/bench/bench_options.h"

namespace kvmm {

// Returns kvmm's exit status; throws Error on bad input or a host problem.
int run_bench_command(const BenchCommand& command, std::ostream& out,
                      const std::string& kvmm_version);

}  // namespace kvmm

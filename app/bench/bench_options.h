#pragma once
// `kvmm bench NAME [options]`: one options struct and option table per
// benchmark, and the output options they share. A new benchmark adds its
// struct to BenchCommand::Options, its table here and in kvmm's program
// (app/cli/options.cc), and a case in run_bench_command (bench_command.cc).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "app/bench/exit_kinds.h"
#include "app/options/option_table.h"

namespace kvmm {

// --json FILE, --csv FILE, --plot FILE.svg|FILE.png
struct BenchOutputOptions {
  std::optional<std::string> json_path;
  std::optional<std::string> csv_path;
  std::optional<std::string> plot_path;
};

// Caps on counts given on the command line: far more than a stable
// percentile needs, small enough that a typo cannot ask for hours of runs
// or gigabytes of samples (8 bytes each).
inline constexpr uint64_t kMaxBenchIterations = 1'000'000;
inline constexpr uint64_t kMaxBenchWarmup = 1'000'000;

struct ExitBenchOptions {
  std::vector<ExitKind> kinds;  // Empty: every kind.
  uint64_t iterations = 10'000;
  uint64_t warmup = 1'000;
  BenchOutputOptions output;
};

struct BenchCommand {
  using Options = std::variant<ExitBenchOptions>;
  Options options;
};

// The `kvmm bench exits` table, setting `options` (app/cli/options.cc
// parses with it and puts it in kvmm's help, man page and completion).
Verb bench_exits_verb(ExitBenchOptions& options);

// --json FILE, --csv FILE, --plot FILE for a benchmark's table.
std::vector<Option> bench_output_options(BenchOutputOptions& output);

// "--iterations 500" -> 500; throws unless 1..max (0 allowed with allow_zero).
uint64_t parse_bench_count(std::string_view option, std::string_view text, uint64_t max,
                           bool allow_zero);

}  // namespace kvmm

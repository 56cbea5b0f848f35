#pragma once
// `kvmm bench NAME [options]`: one options struct per benchmark, and the
// output options they all share. A new benchmark adds its struct to
// BenchCommand::Options, a parse function here and a case in
// run_bench_command (bench_command.cc).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "app/bench/exit_kinds.h"

namespace kvmm {

class ArgReader;

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

// args: what follows "bench". Throws Error naming the bad argument and the fix.
BenchCommand parse_bench_command(std::span<const std::string_view> args);

// For every benchmark's parser: takes --json/--csv/--plot and returns true,
// or returns false for any other option.
bool parse_bench_output_option(std::string_view option, ArgReader& reader,
                               BenchOutputOptions& output);
// "--iterations 500" -> 500; throws unless 1..max (0 allowed with allow_zero).
uint64_t parse_bench_count(std::string_view option, std::string_view text, uint64_t max,
                           bool allow_zero);

std::string bench_usage_text();

}  // namespace kvmm

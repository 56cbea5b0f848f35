#include "app/bench/bench_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "app/bench/exit_bench.h"
#include "app/bench/exit_bench_report.h"
#include "app/bench/gnuplot_plot.h"
#include "app/bench/guest_dir.h"
#include "app/bench/report_writer.h"

namespace kvmm {

namespace {

void check_outputs(const BenchOutputOptions& output) {
  if (output.json_path) check_output_writable(*output.json_path, "JSON");
  if (output.csv_path) check_output_writable(*output.csv_path, "CSV");
  if (output.plot_path) {
    plot_format_of(*output.plot_path);
    require_gnuplot();
    check_output_writable(*output.plot_path, "plot");
  }
}

// A line on stderr as each kind ends, so a run of a minute or more is not
// silent: on a terminal, or when KVMM_BENCH_PROGRESS=1 asks (=0 silences it).
// stdout keeps only the report, and logs and CI see no change by default.
bool progress_wanted() {
  const char* setting = std::getenv("KVMM_BENCH_PROGRESS");
  if (setting != nullptr && *setting != '\0') return std::string_view(setting) != "0";
  return ::isatty(STDERR_FILENO) == 1;
}

ExitBenchProgress progress_printer() {
  if (!progress_wanted()) return {};
  const auto start = std::chrono::steady_clock::now();
  return [start](ExitKind kind, size_t done, size_t total, const ExitKindResult* result) {
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
    std::string line = "kvmm: bench exits: " + std::to_string(done) + "/" + std::to_string(total) +
                       " " + std::string(exit_kind_info(kind).name) + ": ";
    line += result != nullptr ? "median " + std::to_string(result->cycles.median) + " cycles"
                              : std::string("skipped");
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, " (%.1f s)\n", elapsed.count());
    std::cerr << line << seconds << std::flush;
  };
}

int run_exits(const ExitBenchOptions& options, std::ostream& out, const std::string& version) {
  check_outputs(options.output);
  const ExitBenchReport report =
      run_exit_bench(options, find_guest("bench_exits.bin", "the exit benchmark").parent_path(),
                     version, progress_printer());
  out << format_exit_bench_text(report) << std::flush;
  const BenchOutputOptions& output = options.output;
  if (output.json_path) write_output_file(*output.json_path, format_exit_bench_json(report), "JSON");
  if (output.csv_path) write_output_file(*output.csv_path, format_exit_bench_csv(report), "CSV");
  if (output.plot_path) plot_exit_bench(report, *output.plot_path);
  return 0;
}

}  // namespace

int run_bench_command(const BenchCommand& command, std::ostream& out,
                      const std::string& kvmm_version) {
  if (const auto* exits = std::get_if<ExitBenchOptions>(&command.options)) {
    return run_exits(*exits, out, kvmm_version);
  }
  return 1;  // Unreachable: every alternative is handled above.
}

}  // namespace kvmm

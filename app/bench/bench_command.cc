#include "app/bench/bench_command.h"

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

int run_exits(const ExitBenchOptions& options, std::ostream& out, const std::string& version) {
  check_outputs(options.output);
  const ExitBenchReport report = run_exit_bench(options, find_guest("bench_exits.bin", "the exit benchmark").parent_path(), version);
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

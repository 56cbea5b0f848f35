#include "app/bench/bench_options.h"

#include "app/bench/gnuplot_plot.h"
#include "base/util/error.h"
#include "base/util/parse.h"

namespace kvmm {

namespace {

std::string output_path(std::string_view option, std::string_view value) {
  if (value.empty()) {
    throw Error(std::string(option) + " needs a file name: give e.g. " + std::string(option) +
                (option == "--plot" ? " exits.svg" : option == "--csv" ? " exits.csv" : " exits.json"));
  }
  return std::string(value);
}

std::vector<std::string_view> kind_names() {
  std::vector<std::string_view> names;
  for (const ExitKindInfo& info : exit_kinds()) names.emplace_back(info.name);
  return names;
}

}  // namespace

std::vector<Option> bench_output_options(BenchOutputOptions& output) {
  return {
      {.name = "--json", .placeholder = "FILE", .help = "write the full report as JSON",
       .completion = Completion::kFile,
       .set = [&output](std::string_view value) { output.json_path = output_path("--json", value); }},
      {.name = "--csv", .placeholder = "FILE", .help = "write one row per kind as CSV",
       .completion = Completion::kFile,
       .set = [&output](std::string_view value) { output.csv_path = output_path("--csv", value); }},
      {.name = "--plot", .placeholder = "FILE",
       .help = "draw per-kind latency histograms (.svg or .png; gnuplot)",
       .completion = Completion::kFile,
       .set =
           [&output](std::string_view value) {
             output.plot_path = output_path("--plot", value);
             plot_format_of(*output.plot_path);  // Refuse a bad extension now, not after the run.
           }},
  };
}

uint64_t parse_bench_count(std::string_view option, std::string_view text, uint64_t max,
                           bool allow_zero) {
  const std::optional<uint64_t> value = parse_integer<uint64_t>(text);
  const bool all_digits = !text.empty() && leading_digits(text).size() == text.size();
  if ((value && *value > max) || (!value && all_digits)) {
    throw Error(std::string(option) + " " + std::string(text) + " is more than the cap of " +
                std::to_string(max) + ": give at most " + std::to_string(max));
  }
  if (!value) {
    throw Error(std::string(option) + " " + std::string(text) +
                " is not a number: give a count, e.g. " + std::string(option) + " 10000");
  }
  if (*value == 0 && !allow_zero) {
    throw Error(std::string(option) + " 0 measures nothing: give at least 1");
  }
  return *value;
}

Verb bench_exits_verb(ExitBenchOptions& options) {
  Verb verb{
      .name = "bench exits",
      .usage = {"bench exits [--kind K[,K...]] [--iterations N] [OPTION]..."},
      .summary = "time VM exits from inside a guest",
      .description =
          "Times VM exits from inside a long-mode guest with the TSC, per exit kind: in the "
          "kernel (cpuid, vmcall, pio_out_ioeventfd, mmio_write_ioeventfd, hlt_timer) and in "
          "kvmm (pio_out, pio_in, mmio_write, mmio_read, serial_out), plus `none` (the "
          "timestamps alone). Prints min, median, p90, p99, p99.9, max and mean in cycles and "
          "ns, kvmm's handler time per exit, and the VMM's share (user-space kind minus its "
          "in-kernel twin). See docs/measuring.md.",
      .options = {
          {.name = "--kind", .placeholder = "LIST",
           .help = "kinds to run, comma-separated (default: all)",
           .completion = Completion::kWords,
           .words = kind_names(),
           .set = [&options](std::string_view value) { options.kinds = parse_exit_kinds(value); }},
          {.name = "--iterations", .placeholder = "N",
           .help = "timed exits per kind (default 10000, at most 1000000)",
           .set =
               [&options](std::string_view value) {
                 options.iterations =
                     parse_bench_count("--iterations", value, kMaxBenchIterations, false);
               }},
          {.name = "--warmup", .placeholder = "N",
           .help = "untimed exits first (default 1000, at most 1000000)",
           .set =
               [&options](std::string_view value) {
                 options.warmup = parse_bench_count("--warmup", value, kMaxBenchWarmup, true);
               }},
      }};
  for (Option& option : bench_output_options(options.output)) verb.options.push_back(std::move(option));
  return verb;
}

}  // namespace kvmm

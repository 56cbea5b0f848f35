#include "app/bench/bench_options.h"

#include "app/bench/gnuplot_plot.h"
#include "app/options/arg_reader.h"
#include "base/util/error.h"

namespace kvmm {

namespace {

ExitBenchOptions parse_exits(std::span<const std::string_view> args) {
  ExitBenchOptions options;
  ArgReader reader("bench exits", args);
  while (!reader.done()) {
    const std::string_view option = reader.next_option();
    if (parse_bench_output_option(option, reader, options.output)) continue;
    if (option == "--kind") {
      options.kinds = parse_exit_kinds(reader.value(option));
    } else if (option == "--iterations") {
      options.iterations =
          parse_bench_count(option, reader.value(option), kMaxBenchIterations, false);
    } else if (option == "--warmup") {
      options.warmup = parse_bench_count(option, reader.value(option), kMaxBenchWarmup, true);
    } else {
      reader.unknown(option);
    }
  }
  return options;
}

std::string output_path(std::string_view option, std::string_view value) {
  if (value.empty()) {
    throw Error(std::string(option) + " needs a file name: give e.g. " + std::string(option) +
                (option == "--plot" ? " exits.svg" : option == "--csv" ? " exits.csv" : " exits.json"));
  }
  return std::string(value);
}

}  // namespace

bool parse_bench_output_option(std::string_view option, ArgReader& reader,
                               BenchOutputOptions& output) {
  if (option == "--json") {
    output.json_path = output_path(option, reader.value(option));
  } else if (option == "--csv") {
    output.csv_path = output_path(option, reader.value(option));
  } else if (option == "--plot") {
    output.plot_path = output_path(option, reader.value(option));
    plot_format_of(*output.plot_path);  // Refuse a bad extension now, not after the run.
  } else {
    return false;
  }
  return true;
}

uint64_t parse_bench_count(std::string_view option, std::string_view text, uint64_t max,
                           bool allow_zero) {
  uint64_t value = 0;
  bool ok = !text.empty();
  for (const char c : text) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
    if (value > max) {
      throw Error(std::string(option) + " " + std::string(text) + " is more than the cap of " +
                  std::to_string(max) + ": give at most " + std::to_string(max));
    }
  }
  if (!ok) {
    throw Error(std::string(option) + " " + std::string(text) +
                " is not a number: give a count, e.g. " + std::string(option) + " 10000");
  }
  if (value == 0 && !allow_zero) {
    throw Error(std::string(option) + " 0 measures nothing: give at least 1");
  }
  return value;
}

BenchCommand parse_bench_command(std::span<const std::string_view> args) {
  if (args.empty() || args[0].starts_with("-")) {
    throw Error("kvmm bench needs a benchmark name: kvmm bench exits or kvmm bench sched (see kvmm --help)");
  }
  const std::string_view name = args[0];
  const auto rest = args.subspan(1);
  if (name == "exits") return BenchCommand{parse_exits(rest)};
  throw Error("unknown benchmark '" + std::string(name) + "': use kvmm bench exits or kvmm bench sched");
}

std::string bench_usage_text() {
  return R"(kvmm bench exits [--kind K[,K...]] [--iterations N] [--warmup N]
                 [--json FILE] [--csv FILE] [--plot FILE.svg|FILE.png]
  Times VM exits from inside a long-mode guest with the TSC, per exit kind:
  in the kernel (cpuid, vmcall, pio_out_ioeventfd, mmio_write_ioeventfd,
  hlt_timer) and in kvmm (pio_out, pio_in, mmio_write, mmio_read,
  serial_out), plus `none` (the timestamps alone). Prints min, median, p90,
  p99, p99.9, max and mean in cycles and ns, kvmm's handler time per exit,
  and the VMM's share (user-space kind minus its in-kernel twin).
  --kind LIST      kinds to run, comma-separated (default: all)
  --iterations N   timed exits per kind (default 10000, at most 1000000)
  --warmup N       untimed exits first (default 1000, at most 1000000)
  --json FILE      write the full report as JSON
  --csv FILE       write one row per kind as CSV
  --plot FILE      draw per-kind latency histograms (.svg or .png; gnuplot)
)";
}

}  // namespace kvmm

#include "app/bench/exit_bench_report.h"

#include "app/bench/gnuplot_plot.h"
#include "app/bench/report_writer.h"

namespace kvmm {

namespace {

constexpr unsigned kBinsPerDecade = 20;

std::string integer(double value) { return format_fixed(value, 0); }

void write_percentiles(JsonWriter& json, const char* key, const Percentiles& p,
                       const ExitBenchReport& report, bool in_ns) {
  auto v = [&](double cycles) { return in_ns ? report.to_ns(cycles) : cycles; };
  json.key(key).begin_object();
  if (in_ns) {
    json.member("min", v(static_cast<double>(p.min)));
    json.member("median", v(static_cast<double>(p.median)));
    json.member("p90", v(static_cast<double>(p.p90)));
    json.member("p99", v(static_cast<double>(p.p99)));
    json.member("p99_9", v(static_cast<double>(p.p999)));
    json.member("max", v(static_cast<double>(p.max)));
  } else {
    json.member("min", p.min);
    json.member("median", p.median);
    json.member("p90", p.p90);
    json.member("p99", p.p99);
    json.member("p99_9", p.p999);
    json.member("max", p.max);
  }
  json.member("mean", v(p.mean));
  json.end_object();
}

}  // namespace

std::string format_exit_bench_text(const ExitBenchReport& report) {
  std::string out = "kvmm bench exits: " + std::to_string(report.iterations) +
                    " iterations per kind after " + std::to_string(report.warmup) +
                    " warm-up; in-guest round trip in TSC cycles (closing stamp: " +
                    report.closing_stamp + ")\n";
  out += format_host_text(report.host, report.tsc);
  out += "\n";
  TextTable cycles({"kind", "path", "min", "median", "p90", "p99", "p99.9", "max", "mean",
                    "median_ns", "mean_ns"});
  for (const ExitKindResult& r : report.kinds) {
    const Percentiles& p = r.cycles;
    cycles.add_row({exit_kind_info(r.kind).name, exit_path_name(exit_kind_info(r.kind).path),
                    std::to_string(p.min), std::to_string(p.median), std::to_string(p.p90),
                    std::to_string(p.p99), std::to_string(p.p999), std::to_string(p.max),
                    integer(p.mean), format_fixed(report.to_ns(static_cast<double>(p.median)), 1),
                    format_fixed(report.to_ns(p.mean), 1)});
  }
  out += cycles.format();

  bool any_handler = false;
  TextTable handlers({"kvmm handler", "exits", "mean_ns", "min_ns", "median_ns~", "p99_ns~",
                      "max_ns"});
  for (const ExitKindResult& r : report.kinds) {
    if (!r.handler) continue;
    any_handler = true;
    const HandlerTime& h = *r.handler;
    handlers.add_row({exit_kind_info(r.kind).name, std::to_string(h.exits),
                      format_fixed(h.mean_ns, 1), std::to_string(h.min_ns),
                      std::to_string(h.median_ns), std::to_string(h.p99_ns),
                      std::to_string(h.max_ns)});
  }
  if (any_handler) {
    out += "\nHost time in kvmm's exit handler (separate run; ~ = log2 bucket bound):\n";
    out += handlers.format();
  }
  if (!report.shares.empty()) {
    TextTable shares({"VMM share", "median", "median_ns", "mean", "mean_ns"});
    for (const VmmShare& s : report.shares) {
      shares.add_row({s.pair->name, std::to_string(s.median_cycles),
                      format_fixed(report.to_ns(static_cast<double>(s.median_cycles)), 1),
                      integer(s.mean_cycles), format_fixed(report.to_ns(s.mean_cycles), 1)});
    }
    out += "\nThe VMM's share (user-space kind minus its in-kernel twin, cycles):\n";
    out += shares.format();
  }
  for (const SkippedKind& skipped : report.skipped) {
    out += std::string("\nskipped ") + exit_kind_info(skipped.kind).name + ": " + skipped.reason +
           "\n";
  }
  for (const ExitKindResult& r : report.kinds) {
    if (r.negative_samples == 0) continue;
    out += "\nnote: " + std::to_string(r.negative_samples) + " " + exit_kind_info(r.kind).name +
           " samples woke before the deadline and count as 0\n";
  }
  return out;
}

std::string format_exit_bench_json(const ExitBenchReport& report) {
  JsonWriter json;
  json.begin_object();
  json.member("benchmark", "exits");
  write_host_json(json, report.host, report.tsc);
  json.member("iterations", report.iterations);
  json.member("warmup", report.warmup);
  json.member("timer_delay_ns", report.timer_delay_ns);
  json.member("closing_timestamp", report.closing_stamp);
  json.key("kinds").begin_array();
  for (const ExitKindResult& r : report.kinds) {
    const ExitKindInfo& info = exit_kind_info(r.kind);
    json.begin_object();
    json.member("kind", info.name);
    json.member("path", exit_path_name(info.path));
    json.member("description", info.what);
    json.member("iterations", r.cycles.count);
    write_percentiles(json, "cycles", r.cycles, report, false);
    write_percentiles(json, "ns", r.cycles, report, true);
    json.member("negative_samples", r.negative_samples);
    if (r.handler) {
      json.key("handler_ns").begin_object();
      json.member("exits", r.handler->exits);
      json.member("mean", r.handler->mean_ns);
      json.member("min", r.handler->min_ns);
      json.member("median", r.handler->median_ns);
      json.member("p99", r.handler->p99_ns);
      json.member("max", r.handler->max_ns);
      json.end_object();
    } else {
      json.member_null("handler_ns");
    }
    json.end_object();
  }
  json.end_array();
  json.key("vmm_share").begin_array();
  for (const VmmShare& s : report.shares) {
    json.begin_object();
    json.member("name", s.pair->name);
    json.member("user_kind", exit_kind_info(s.pair->user).name);
    json.member("kernel_kind", exit_kind_info(s.pair->kernel).name);
    json.member("median_cycles", s.median_cycles);
    json.member("median_ns", report.to_ns(static_cast<double>(s.median_cycles)));
    json.member("mean_cycles", s.mean_cycles);
    json.member("mean_ns", report.to_ns(s.mean_cycles));
    json.end_object();
  }
  json.end_array();
  json.key("skipped").begin_array();
  for (const SkippedKind& skipped : report.skipped) {
    json.begin_object();
    json.member("kind", exit_kind_info(skipped.kind).name);
    json.member("reason", skipped.reason);
    json.end_object();
  }
  json.end_array();
  json.end_object();
  return json.finish();
}

std::string format_exit_bench_csv(const ExitBenchReport& report) {
  std::string out = csv_row({"kind", "path", "iterations", "min_cycles", "median_cycles",
                             "p90_cycles", "p99_cycles", "p99_9_cycles", "max_cycles",
                             "mean_cycles", "median_ns", "p99_ns", "mean_ns", "handler_mean_ns",
                             "tsc_khz"});
  const std::string khz = format_fixed(report.tsc.khz, 0);
  for (const ExitKindResult& r : report.kinds) {
    const Percentiles& p = r.cycles;
    const ExitKindInfo& info = exit_kind_info(r.kind);
    out += csv_row({info.name, exit_path_name(info.path), std::to_string(p.count),
                    std::to_string(p.min), std::to_string(p.median), std::to_string(p.p90),
                    std::to_string(p.p99), std::to_string(p.p999), std::to_string(p.max),
                    format_fixed(p.mean, 1), format_fixed(report.to_ns(static_cast<double>(p.median)), 1),
                    format_fixed(report.to_ns(static_cast<double>(p.p99)), 1),
                    format_fixed(report.to_ns(p.mean), 1),
                    r.handler ? format_fixed(r.handler->mean_ns, 1) : "", khz});
  }
  for (const VmmShare& s : report.shares) {
    out += csv_row({s.pair->name, "vmm_share", "", "", std::to_string(s.median_cycles), "", "",
                    "", "", format_fixed(s.mean_cycles, 1),
                    format_fixed(report.to_ns(static_cast<double>(s.median_cycles)), 1), "",
                    format_fixed(report.to_ns(s.mean_cycles), 1), "", khz});
  }
  return out;
}

void plot_exit_bench(const ExitBenchReport& report, const std::string& image_path) {
  std::vector<HistogramPanel> panels;
  for (const ExitKindResult& r : report.kinds) {
    HistogramPanel panel;
    const ExitKindInfo& info = exit_kind_info(r.kind);
    panel.title = std::string(info.name) + " (" + exit_path_name(info.path) + "), median " +
                  format_fixed(report.to_ns(static_cast<double>(r.cycles.median)), 0) + " ns";
    panel.bins = log_histogram(r.samples, kBinsPerDecade);
    for (LogBin& bin : panel.bins) {
      bin.low = report.to_ns(bin.low);
      bin.high = report.to_ns(bin.high);
    }
    panels.push_back(std::move(panel));
  }
  const std::string title = "kvmm bench exits: " + report.host.cpu_model + ", KVM " +
                            report.host.kvm_module + (report.host.nested ? " (nested)" : "") +
                            ", " + std::to_string(report.iterations) + " iterations";
  plot_histograms(image_path, title, "round trip (ns, log scale)", panels);
}

}  // namespace kvmm

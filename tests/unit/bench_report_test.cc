// The shared pieces of `kvmm bench`: percentile math, the CSV and table
// writers, the plot script, and the bench command line.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "app/bench/bench_options.h"
#include "app/bench/exit_bench.h"
#include "app/bench/exit_bench_report.h"
#include "app/bench/gnuplot_plot.h"
#include "app/bench/percentiles.h"
#include "app/bench/report_writer.h"
#include "app/cli/options.h"
#include "base/util/error.h"

using namespace kvmm;

namespace {

std::vector<uint64_t> one_to(uint64_t n) {
  std::vector<uint64_t> samples;
  for (uint64_t i = n; i >= 1; --i) samples.push_back(i);  // Reversed: summarize sorts.
  return samples;
}

BenchCommand parse_bench(std::vector<std::string_view> args) {
  args.insert(args.begin(), "bench");
  return std::get<BenchCommand>(parse_command_line(args));
}

}  // namespace

TEST_CASE("percentiles of 1..1000 are the nearest ranks") {
  std::vector<uint64_t> samples = one_to(1000);
  const Percentiles p = summarize(samples);
  CHECK(p.count == 1000);
  CHECK(p.min == 1);
  CHECK(p.median == 500);
  CHECK(p.p90 == 900);
  CHECK(p.p99 == 990);
  CHECK(p.p999 == 999);  // 0.999 * 1000 is not exactly 999 in binary; still rank 999
  CHECK(p.max == 1000);
  CHECK(p.mean == Approx(500.5));
}

TEST_CASE("percentiles of few samples round the rank up") {
  std::vector<uint64_t> samples = {30, 10, 20};
  const Percentiles p = summarize(samples);
  CHECK(p.median == 20);  // ceil(1.5) = rank 2
  CHECK(p.p90 == 30);
  CHECK(p.p999 == 30);
  CHECK(nearest_rank(samples, 0.0) == 10);
  std::vector<uint64_t> single = {7};
  const Percentiles q = summarize(single);
  CHECK((q.min == 7 && q.median == 7 && q.p999 == 7 && q.max == 7));
}

TEST_CASE("percentiles of no samples are all zero") {
  std::vector<uint64_t> none;
  const Percentiles p = summarize(none);
  CHECK(p.count == 0);
  CHECK(p.max == 0);
  CHECK(p.mean == 0);
}

TEST_CASE("the log histogram counts every sample once in its decade slice") {
  const std::vector<uint64_t> sorted = {1, 5, 10, 99, 100, 1000, 1000};
  const std::vector<LogBin> bins = log_histogram(sorted, 1);
  REQUIRE(bins.size() == 4);  // [1,10) [10,100) [100,1000) [1000,10000)
  CHECK(bins[0].count == 2);
  CHECK(bins[1].count == 2);
  CHECK(bins[2].count == 1);
  CHECK(bins[3].count == 2);
  CHECK(bins[3].low == Approx(1000));
  CHECK(log_histogram({}, 10).empty());
}

TEST_CASE("CSV rows quote only fields that need it") {
  CHECK(csv_row({"a", "b c", ""}) == "a,b c,\n");
  CHECK(csv_row({"x,y", "say \"hi\"", "two\nlines"}) ==
        "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\n");
}

TEST_CASE("text tables align the first column left and the rest right") {
  TextTable table({"kind", "median"});
  table.add_row({"cpuid", "6"});
  table.add_row({"pio_out", "12345"});
  CHECK(table.format() ==
        "kind     median\n"
        "cpuid         6\n"
        "pio_out   12345\n");
}

TEST_CASE("output files in a missing directory are refused before a run") {
  CHECK_THROWS_WITH(check_output_writable("/nonexistent-kvmm-dir/out.json", "JSON"),
                    Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(check_output_writable("/tmp", "JSON"), Catch::Contains("is a directory"));
  CHECK_NOTHROW(check_output_writable("/tmp/kvmm-bench-unit-test-not-created.json", "JSON"));
}

TEST_CASE("the VMM share is the user median minus the kernel median") {
  std::vector<ExitKindResult> kinds(3);
  kinds[0].kind = ExitKind::kPioOut;
  kinds[0].cycles.median = 1000;
  kinds[0].cycles.mean = 1100;
  kinds[1].kind = ExitKind::kPioOutIoeventfd;
  kinds[1].cycles.median = 300;
  kinds[1].cycles.mean = 320;
  kinds[2].kind = ExitKind::kMmioWrite;  // Its twin did not run: no row.
  const std::vector<VmmShare> shares = compute_vmm_shares(kinds);
  REQUIRE(shares.size() == 1);
  CHECK(std::string(shares[0].pair->name) == "pio_out-pio_out_ioeventfd");
  CHECK(shares[0].median_cycles == 700);
  CHECK(shares[0].mean_cycles == Approx(780));
}

TEST_CASE("an exit bench report has every section in JSON and CSV") {
  ExitBenchReport report;
  report.host.cpu_model = "Test CPU";
  report.host.kvm_module = "kvm_intel";
  report.tsc = {1'000'000, "KVM_GET_TSC_KHZ"};  // 1 GHz: one cycle is one ns
  report.iterations = 3;
  report.closing_stamp = "rdtscp; lfence";
  ExitKindResult cpuid;
  cpuid.kind = ExitKind::kCpuid;
  cpuid.samples = {100, 200, 300};
  cpuid.cycles = summarize(cpuid.samples);
  ExitKindResult pio;
  pio.kind = ExitKind::kPioOut;
  pio.samples = {1000, 2000, 3000};
  pio.cycles = summarize(pio.samples);
  pio.handler = HandlerTime{4, 250.5, 100, 128, 256, 400};
  report.kinds = {cpuid, pio};
  report.skipped.push_back({ExitKind::kVmcall, "not here"});
  const std::string json = format_exit_bench_json(report);
  CHECK_THAT(json, Catch::Contains("\"kind\": \"cpuid\""));
  CHECK_THAT(json, Catch::Contains("\"median\": 2000"));
  CHECK_THAT(json, Catch::Contains("\"handler_ns\": null"));
  CHECK_THAT(json, Catch::Contains("\"mean\": 250.5"));
  CHECK_THAT(json, Catch::Contains("\"skipped\": [\n    {\n      \"kind\": \"vmcall\""));
  const std::string csv = format_exit_bench_csv(report);
  CHECK(csv.substr(0, csv.find('\n')) ==
        "kind,path,iterations,min_cycles,median_cycles,p90_cycles,p99_cycles,p99_9_cycles,"
        "max_cycles,mean_cycles,median_ns,p99_ns,mean_ns,handler_mean_ns,tsc_khz");
  CHECK_THAT(csv, Catch::Contains("\npio_out,user,3,1000,2000,3000,3000,3000,3000,2000.0,"
                                  "2000.0,3000.0,2000.0,250.5,1000000\n"));
  const std::string text = format_exit_bench_text(report);
  CHECK_THAT(text, Catch::Contains("skipped vmcall: not here"));
}

TEST_CASE("the plot script draws one panel per kind from the data file") {
  std::vector<HistogramPanel> panels(2);
  panels[0].title = "cpuid's";
  panels[0].bins = {{10, 20, 3}};
  panels[1].title = "pio_out";
  const std::string script =
      histogram_script("out.svg", PlotFormat::kSvg, "out.svg.dat", "T", "ns", panels);
  CHECK_THAT(script, Catch::Contains("set terminal svg"));
  CHECK_THAT(script, Catch::Contains("set output 'out.svg'"));
  CHECK_THAT(script, Catch::Contains("set title 'cpuid''s'"));
  CHECK_THAT(script, Catch::Contains("index 1 using"));
  const std::string data = histogram_data(panels);
  CHECK_THAT(data, Catch::StartsWith("# cpuid's: low high count percent\n10 20 3 100\n\n\n"));
  CHECK(plot_format_of("a.png") == PlotFormat::kPng);
  CHECK_THROWS_WITH(plot_format_of("a.pdf"), Catch::Contains("must be .svg or .png"));
}

TEST_CASE("bench exits parses its options") {
  const BenchCommand command = parse_bench({"exits", "--kind", "cpuid,pio_out,cpuid",
                                            "--iterations=200", "--warmup", "0", "--json",
                                            "r.json", "--csv", "r.csv", "--plot", "r.svg"});
  const auto& exits = std::get<ExitBenchOptions>(command.options);
  CHECK(exits.kinds == std::vector<ExitKind>{ExitKind::kCpuid, ExitKind::kPioOut});
  CHECK(exits.iterations == 200);
  CHECK(exits.warmup == 0);
  CHECK(exits.output.json_path == "r.json");
  CHECK(exits.output.csv_path == "r.csv");
  CHECK(exits.output.plot_path == "r.svg");
  const BenchCommand defaults = parse_bench({"exits"});
  CHECK(std::get<ExitBenchOptions>(defaults.options).kinds.empty());
}

TEST_CASE("bench refuses bad input with the fix") {
  CHECK_THROWS_WITH(parse_bench({}), Catch::Contains("needs a benchmark name"));
  CHECK_THROWS_WITH(parse_bench({"nope"}), Catch::Contains("unknown benchmark 'nope'"));
  CHECK_THROWS_WITH(parse_bench({"exits", "--kind", "cpuid,bogus"}),
                    Catch::Contains("unknown exit kind 'bogus'") && Catch::Contains("pio_out"));
  CHECK_THROWS_WITH(parse_bench({"exits", "--kind", ""}), Catch::Contains("unknown exit kind ''"));
  CHECK_THROWS_WITH(parse_bench({"exits", "--iterations", "0"}), Catch::Contains("at least 1"));
  CHECK_THROWS_WITH(parse_bench({"exits", "--iterations", "1000001"}),
                    Catch::Contains("cap of 1000000"));
  CHECK_THROWS_WITH(parse_bench({"exits", "--iterations", "99999999999999999999999"}),
                    Catch::Contains("cap of 1000000"));
  CHECK_THROWS_WITH(parse_bench({"exits", "--warmup", "x"}), Catch::Contains("not a number"));
  CHECK_THROWS_WITH(parse_bench({"exits", "--plot", "a.jpg"}), Catch::Contains(".svg or .png"));
  CHECK_THROWS_WITH(parse_bench({"exits", "--json="}), Catch::Contains("needs a file name"));
  CHECK_THROWS_WITH(parse_bench({"exits", "--bogus"}), Catch::Contains("unknown option --bogus"));
}

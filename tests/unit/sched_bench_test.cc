// kvmm bench sched without KVM: its percentiles, its options, the vCPU
// scheduling policies, and the shape of its report.
#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "app/bench/sched_bench.h"
#include "app/bench/sched_stats.h"
#include "app/cli/options.h"
#include "base/util/error.h"
#include "vmm/cpu/vcpu_sched.h"

using namespace kvmm;

namespace {

Command parse(std::vector<std::string_view> args) { return parse_command_line(args); }

SchedBenchConfig parse_bench(std::vector<std::string_view> args) {
  args.insert(args.begin(), {"bench", "sched"});
  return std::get<BenchSchedCommand>(parse(args)).config;
}

}  // namespace

TEST_CASE("sample summaries use nearest-rank percentiles of the measured values") {
  std::vector<uint64_t> samples;
  for (uint64_t i = 1000; i >= 1; --i) samples.push_back(i);  // 1..1000, reversed
  const SampleSummary s = summarize_samples(samples);
  CHECK(s.count == 1000);
  CHECK(s.min == 1);
  CHECK(s.median == 500);
  CHECK(s.p90 == 900);
  CHECK(s.p99 == 990);
  CHECK(s.p999 == 999);
  CHECK(s.max == 1000);
  CHECK(s.mean == Approx(500.5));
}

TEST_CASE("a summary of one sample or none") {
  const SampleSummary one = summarize_samples({7});
  CHECK(one.min == 7);
  CHECK(one.median == 7);
  CHECK(one.p999 == 7);
  CHECK(one.max == 7);
  const SampleSummary none = summarize_samples({});
  CHECK(none.count == 0);
  CHECK(none.max == 0);
  CHECK(none.mean == 0);
}

TEST_CASE("a summary scales from cycles to ns") {
  const SampleSummary cycles = summarize_samples({1000, 2000, 3000});
  const SampleSummary ns = scale_summary(cycles, 0.5);  // a 2 GHz TSC
  CHECK(ns.count == 3);
  CHECK(ns.min == 500);
  CHECK(ns.median == 1000);
  CHECK(ns.max == 1500);
  CHECK(ns.mean == Approx(1000));
}

TEST_CASE("vCPU scheduling policies parse with and without a priority") {
  CHECK(parse_vcpu_sched("other").kind == VcpuSchedPolicy::Kind::kOther);
  CHECK(parse_vcpu_sched("idle").kind == VcpuSchedPolicy::Kind::kIdle);
  const VcpuSchedPolicy fifo = parse_vcpu_sched("fifo");
  CHECK(fifo.kind == VcpuSchedPolicy::Kind::kFifo);
  CHECK(fifo.priority == 1);
  const VcpuSchedPolicy rr = parse_vcpu_sched("rr:42");
  CHECK(rr.kind == VcpuSchedPolicy::Kind::kRr);
  CHECK(rr.priority == 42);
  CHECK(vcpu_sched_name(rr) == "rr:42");
  CHECK(vcpu_sched_name(parse_vcpu_sched("idle")) == "idle");
}

TEST_CASE("bad vCPU scheduling policies are refused with the accepted forms") {
  CHECK_THROWS_WITH(parse_vcpu_sched("bogus"), Catch::Contains("is not a scheduling policy"));
  CHECK_THROWS_WITH(parse_vcpu_sched(""), Catch::Contains("use other, idle, fifo[:PRIO]"));
  CHECK_THROWS_WITH(parse_vcpu_sched("fifo:0"), Catch::Contains("has a bad priority"));
  CHECK_THROWS_WITH(parse_vcpu_sched("fifo:100"), Catch::Contains("has a bad priority"));
  CHECK_THROWS_WITH(parse_vcpu_sched("rr:"), Catch::Contains("has a bad priority"));
  CHECK_THROWS_WITH(parse_vcpu_sched("rr:-1"), Catch::Contains("has a bad priority"));
  CHECK_THROWS_WITH(parse_vcpu_sched("other:5"), Catch::Contains("takes no priority"));
}

TEST_CASE("run takes --vcpu-sched and --halt-poll-ns") {
  const Command command = parse({"run", "--kernel", "k", "--vcpu-sched", "fifo:10",
                                 "--halt-poll-ns=0"});
  const VmConfig& config = std::get<RunCommand>(command).config;
  REQUIRE(config.vcpu_sched.has_value());
  CHECK(config.vcpu_sched->kind == VcpuSchedPolicy::Kind::kFifo);
  CHECK(config.vcpu_sched->priority == 10);
  CHECK(config.halt_poll_ns == 0u);
  const VmConfig defaults = std::get<RunCommand>(parse({"run", "--kernel", "k"})).config;
  CHECK_FALSE(defaults.vcpu_sched.has_value());
  CHECK_FALSE(defaults.halt_poll_ns.has_value());
}

TEST_CASE("run refuses bad --halt-poll-ns values") {
  for (std::string_view bad : {"-1", "", "1e6", "4294967296", "ten"}) {
    CHECK_THROWS_WITH(parse({"run", "--kernel", "k", "--halt-poll-ns", bad}),
                      Catch::Contains("is not a number of nanoseconds"));
  }
  CHECK(std::get<RunCommand>(parse({"run", "--kernel", "k", "--halt-poll-ns", "4294967295"}))
            .config.halt_poll_ns == 4294967295u);
}

TEST_CASE("flat guests take --cpus in long and protected mode only") {
  const Command command = parse({"run", "--flat", "f", "--mode", "long", "--cpus", "4"});
  CHECK(std::get<RunCommand>(command).config.cpus == 4);
  CHECK_NOTHROW(parse({"run", "--flat", "f", "--mode", "protected", "--cpus", "2"}));
  CHECK_THROWS_WITH(parse({"run", "--flat", "f", "--cpus", "2"}),
                    Catch::Contains("needs --mode long or protected"));
}

TEST_CASE("bench sched has defaults and parses every option") {
  const SchedBenchConfig defaults = parse_bench({});
  CHECK(defaults.workload == SchedBenchConfig::Workload::kIpi);
  CHECK(defaults.cpus == 2);
  CHECK(defaults.iterations == 10000);
  CHECK_FALSE(defaults.json_path.has_value());
  const SchedBenchConfig c =
      parse_bench({"--cpus", "4", "--pin", "0,1,0,1", "--vcpu-sched", "rr:3", "--halt-poll-ns",
                   "1000", "--workload", "spin-wait", "--iterations", "50", "--warmup=5",
                   "--json", "out.json"});
  CHECK(c.cpus == 4);
  CHECK(c.pin == std::vector<int>{0, 1, 0, 1});
  CHECK(c.vcpu_sched->kind == VcpuSchedPolicy::Kind::kRr);
  CHECK(c.halt_poll_ns == 1000u);
  CHECK(c.workload == SchedBenchConfig::Workload::kSpinWait);
  CHECK(c.iterations == 50);
  CHECK(c.warmup == 5);
  CHECK(c.json_path == "out.json");
  CHECK(defaults.ipi == SchedBenchConfig::Ipi::kX2apic);
  CHECK(parse_bench({"--ipi", "xapic"}).ipi == SchedBenchConfig::Ipi::kXapic);
  const SchedBenchConfig spin = parse_bench({"--workload", "spin", "--cpus", "1",
                                             "--duration-ms", "50"});
  CHECK(spin.workload == SchedBenchConfig::Workload::kSpin);
  CHECK(spin.duration_ms == 50);
}

TEST_CASE("bench sched refuses bad options") {
  CHECK_THROWS_WITH(parse_bench({"--workload", "yield"}),
                    Catch::Contains("use ipi, spin-wait or spin"));
  CHECK_THROWS_WITH(parse_bench({"--ipi", "msr"}), Catch::Contains("use x2apic or xapic"));
  CHECK_THROWS_WITH(parse_bench({"--vcpu-sched", "bogus"}),
                    Catch::Contains("is not a scheduling policy"));
  CHECK_THROWS_WITH(parse_bench({"--halt-poll-ns", "-1"}),
                    Catch::Contains("is not a number of nanoseconds"));
  CHECK_THROWS_WITH(parse_bench({"--iterations", "0"}), Catch::Contains("from 1 to"));
  CHECK_THROWS_WITH(parse_bench({"--iterations", "99999999999"}), Catch::Contains("from 1 to"));
  CHECK_THROWS_WITH(parse_bench({"--cpus", "1"}), Catch::Contains("needs --cpus 2 or more"));
  CHECK_THROWS_WITH(parse_bench({"--cpus", "65"}), Catch::Contains("is more than kvmm bench"));
  CHECK_THROWS_WITH(parse_bench({"--workload", "spin", "--iterations", "5"}),
                    Catch::Contains("spin runs for --duration-ms"));
  CHECK_THROWS_WITH(parse_bench({"--pin", "0,1,0"}), Catch::Contains("at most one per vCPU"));
  CHECK_THROWS_WITH(parse_bench({"--json="}), Catch::Contains("needs a file name"));
  CHECK_THROWS_WITH(parse_bench({"--turbo"}), Catch::Contains("kvmm bench sched: unknown option"));
  CHECK_THROWS_WITH(parse({"bench", "nothing"}), Catch::Contains("unknown benchmark"));
}

TEST_CASE("the sched report has every section and null where a value is missing") {
  SchedBenchResult r;
  r.config.cpus = 2;
  r.host.cpus = 1;
  r.host.kvm_module = "kvm_intel";
  r.tsc_khz = 2000000;
  r.ipi_mechanism = "x2apic";
  r.cycles = summarize_samples({100, 200, 300});
  r.ns = scale_summary(r.cycles, 0.5);
  SchedVcpuResult v0;
  v0.vcpu = 0;
  v0.run_delay_ns = 1500000;
  SchedVcpuResult v1;
  v1.vcpu = 1;
  r.vcpus = {v0, v1};
  const std::string json = format_sched_json(r);
  CHECK(json.find("\"benchmark\": \"sched\"") != std::string::npos);
  CHECK(json.find("\"overcommit\": true") != std::string::npos);
  CHECK(json.find("\"vcpu_sched\": null") != std::string::npos);
  CHECK(json.find("\"cycles\": {\"count\": 3, \"min\": 100, \"median\": 200") !=
        std::string::npos);
  CHECK(json.find("\"p99_9\": 150") != std::string::npos);  // In the ns summary.
  CHECK(json.find("\"run_delay_ns\": 1500000") != std::string::npos);
  CHECK(json.find("\"run_delay_ns\": null") != std::string::npos);
  const std::string table = format_sched_table(r);
  CHECK(table.find("(overcommit)") != std::string::npos);
  CHECK(table.find("1.500") != std::string::npos);  // vCPU 0's run delay in ms.

  r.config.workload = SchedBenchConfig::Workload::kSpin;
  r.vcpus[0].spin_count = 300;
  r.vcpus[1].spin_count = 100;
  const std::string spin = format_sched_json(r);
  CHECK(spin.find("\"round_trip\": null") != std::string::npos);
  CHECK(spin.find("\"spin_share\": 0.750") != std::string::npos);
  CHECK(spin.find("\"spin_share\": 0.250") != std::string::npos);
}

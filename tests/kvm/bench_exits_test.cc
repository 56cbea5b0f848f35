// `kvmm bench exits` on real KVM, small N: the structure and sanity of its
// results (every kind, ordered percentiles, in-kernel exits cheaper than
// user-space ones), never timing thresholds.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/refusal.h"
#include "tests/support/run_process.h"

using namespace kvmm::testing;
using nlohmann::json;

namespace {

constexpr int kIterations = 200;

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/kvmm-bench-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

const std::vector<std::string> kKernelKinds = {"cpuid", "vmcall", "pio_out_ioeventfd",
                                               "mmio_write_ioeventfd"};
const std::vector<std::string> kUserKinds = {"pio_out", "pio_in", "mmio_write", "mmio_read",
                                             "serial_out"};

// The CPU flag "hypervisor": this machine is itself a guest.
bool has_hypervisor_flag() {
  const std::string cpuinfo = read_text("/proc/cpuinfo");
  return cpuinfo.find(" hypervisor") != std::string::npos;
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma - start));
    if (comma == std::string::npos) return fields;
    start = comma + 1;
  }
}

}  // namespace

TEST_CASE("bench exits reports every kind with ordered percentiles and sane ratios") {
  TempDir dir;
  const std::string json_path = dir.path + "/exits.json";
  const std::string csv_path = dir.path + "/exits.csv";
  const std::string plot_path = dir.path + "/exits.svg";
  ProcessOptions options;
  options.timeout = std::chrono::seconds(100);
  std::vector<std::string> args = {KVMM_BINARY, "bench",    "exits", "--iterations",
                                   std::to_string(kIterations), "--warmup", "20",
                                   "--json",    json_path, "--csv", csv_path, "--plot", plot_path};
  // In the emulated nested host the LAPIC timer often loses the interrupt
  // hlt_timer waits for (up to three 5 s watchdog tries, then "skipped");
  // leave it to the benchmark there and keep this test quick.
  const bool emulated_nesting = has_hypervisor_flag() && !std::filesystem::exists("/sys/module/kvm_pvm");
  if (emulated_nesting) {
    args.insert(args.end(), {"--kind", "none,cpuid,vmcall,pio_out_ioeventfd,mmio_write_ioeventfd,"
                                       "pio_out,pio_in,mmio_write,mmio_read,serial_out"});
  }
  const ProcessResult result = run_process(args, options);
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  REQUIRE_FALSE(result.timed_out);
  REQUIRE(result.exit_status == 0);
  CHECK(result.err.empty());
  CHECK_THAT(result.out, Catch::Contains("median") && Catch::Contains("VMM share"));

  const json report = json::parse(read_text(json_path));
  CHECK(report.at("benchmark").get<std::string>() == "exits");
  const json& host = report.at("host");
  for (const char* key : {"cpu_model", "kernel", "kvm_module", "nested", "tsc_khz",
                          "tsc_khz_source", "kvmm_version", "date"}) {
    CHECK(host.contains(key));
  }
  CHECK(host.at("tsc_khz").get<double>() > 0);
  CHECK(report.at("iterations").get<double>() == kIterations);

  // A kind this host's KVM cannot run is listed under "skipped" with a reason
  // (vmcall on kvm_pvm); every other kind must be measured.
  std::set<std::string> skipped;
  for (const json& s : report.at("skipped")) {
    CHECK_FALSE(s.at("reason").get<std::string>().empty());
    skipped.insert(s.at("kind").get<std::string>());
  }
  std::map<std::string, const json*> kinds;
  for (const json& kind : report.at("kinds")) kinds[kind.at("kind").get<std::string>()] = &kind;
  std::vector<std::string> all = {"none"};
  if (!emulated_nesting) all.push_back("hlt_timer");
  all.insert(all.end(), kKernelKinds.begin(), kKernelKinds.end());
  all.insert(all.end(), kUserKinds.begin(), kUserKinds.end());
  for (const std::string& name : all) {
    INFO("kind " << name);
    CHECK((kinds.count(name) == 1) != (skipped.count(name) == 1));
  }
  CHECK(kinds.size() + skipped.size() == all.size());

  for (const auto& [name, kind] : kinds) {
    INFO("kind " << name);
    CHECK(kind->at("iterations").get<double>() == kIterations);
    for (const char* unit : {"cycles", "ns"}) {
      const json& p = kind->at(unit);
      CHECK(p.at("min").get<double>() <= p.at("median").get<double>());
      CHECK(p.at("median").get<double>() <= p.at("p90").get<double>());
      CHECK(p.at("p90").get<double>() <= p.at("p99").get<double>());
      CHECK(p.at("p99").get<double>() <= p.at("p99_9").get<double>());
      CHECK(p.at("p99_9").get<double>() <= p.at("max").get<double>());
      CHECK(p.at("min").get<double>() <= p.at("mean").get<double>());
      CHECK(p.at("mean").get<double>() <= p.at("max").get<double>());
    }
    const bool user = kind->at("path").get<std::string>() == "user";
    CHECK(user == (kind->at("handler_ns").is_object()));
    if (user) CHECK(kind->at("handler_ns").at("exits").get<double>() >= kIterations);
  }

  // The sanity ratios. Always: each user-space kind costs more than its
  // in-kernel twin (same instruction, same kind of address), so the VMM share
  // is positive. Broader, where KVM is not itself nested under an emulated
  // hypervisor: every in-kernel round trip is cheaper than every user-space
  // one. Inside the nested host (QEMU TCG + emulated SVM) every exit is
  // dominated by the emulated VM exit itself and cpuid's median was measured
  // above pio_out's (149502 vs 131303 cycles) under load, so there only the
  // pairs are checked. kvm_pvm reports the "hypervisor" flag too, but runs
  // guests at near-native exit cost, so it gets the broad check. hlt_timer is
  // left out: it is a wake-up latency, not a round trip.
  auto median = [&](const std::string& name) {
    return kinds.at(name)->at("cycles").at("median").get<double>();
  };
  CHECK(median("pio_out_ioeventfd") < median("pio_out"));
  CHECK(median("mmio_write_ioeventfd") < median("mmio_write"));
  // `none` is below every user-space kind, but not checked against the
  // in-kernel ones: on kvm_pvm each rdtsc traps, so `none` (~4600 cycles)
  // and cpuid (~6400) are close, and a loaded host pushed none's median of
  // 200 samples to 7264 (measured).
  for (const std::string& user : kUserKinds) CHECK(median("none") < median(user));
  for (const std::string& kernel : kKernelKinds) {
    if (kinds.count(kernel) == 0) continue;
    if (emulated_nesting) continue;
    for (const std::string& user : kUserKinds) {
      INFO(kernel << " median " << median(kernel) << " vs " << user << " median " << median(user));
      CHECK(median(kernel) < median(user));
    }
  }
  CHECK(report.at("vmm_share").size() == 2);
  for (const json& share : report.at("vmm_share")) {
    CHECK(share.at("median_cycles").get<double>() > 0);
  }

  // CSV: a header and one row per kind and per VMM-share pair, all as wide.
  const std::vector<std::string> lines = lines_of(read_text(csv_path));
  REQUIRE(lines.size() == 1 + kinds.size() + 2);
  const size_t columns = split(lines[0]).size();
  CHECK(split(lines[0])[0] == "kind");
  for (size_t i = 1; i < lines.size(); ++i) CHECK(split(lines[i]).size() == columns);
  CHECK(split(lines[1])[0] == "none");

  const std::string svg = read_text(plot_path);
  CHECK_THAT(svg, Catch::Contains("<svg"));
  CHECK(svg.size() > 1000);
}

TEST_CASE("bench exits runs only the kinds asked for") {
  TempDir dir;
  const std::string json_path = dir.path + "/cpuid.json";
  const ProcessResult result = run_process(
      {KVMM_BINARY, "bench", "exits", "--kind", "cpuid,pio_out", "--iterations", "50", "--json",
       json_path});
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_status == 0);
  const json report = json::parse(read_text(json_path));
  REQUIRE(report.at("kinds").size() == 2);
  CHECK(report.at("kinds")[0].at("kind").get<std::string>() == "cpuid");
  CHECK(report.at("kinds")[1].at("kind").get<std::string>() == "pio_out");
  CHECK(report.at("vmm_share").empty());  // pio_out's twin did not run
}

TEST_CASE("bench exits tells of each kind on stderr when KVMM_BENCH_PROGRESS=1") {
  ProcessOptions options;
  options.environment = {{"KVMM_BENCH_PROGRESS", "1"}};
  const ProcessResult result = run_process(
      {KVMM_BINARY, "bench", "exits", "--kind", "cpuid,pio_out", "--iterations", "50"}, options);
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  REQUIRE(result.exit_status == 0);
  const std::vector<std::string> lines = lines_of(result.err);
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[0], Catch::StartsWith("kvmm: bench exits: 1/2 cpuid: median ") &&
                           Catch::EndsWith(" s)"));
  CHECK_THAT(lines[1], Catch::StartsWith("kvmm: bench exits: 2/2 pio_out: median "));
  // The report on stdout is as without it.
  CHECK_THAT(result.out, Catch::Contains("median"));
  CHECK_THAT(result.out, !Catch::Contains("kvmm: bench exits:"));
}

// kvmm bench sched on real KVM, with few iterations: the structure and
// sanity of its results (every vCPU present, percentiles ordered, progress
// in the spin), never their timing.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/refusal.h"  // read_text
#include "tests/support/run_process.h"

using namespace kvmm::testing;
using nlohmann::json;

namespace {

// A scratch file for --json, removed at the end of the test.
struct JsonFile {
  std::string path;
  JsonFile() {
    char name[] = "/tmp/kvmm-sched-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
  }
  ~JsonFile() { std::filesystem::remove(path); }
};

ProcessResult bench(std::vector<std::string> args) {
  args.insert(args.begin(), {KVMM_BINARY, "bench", "sched"});
  ProcessOptions options;
  options.timeout = std::chrono::seconds(100);  // The nested host is ~100x slower.
  ProcessResult result = run_process(args, options);
  REQUIRE_FALSE(result.timed_out);
  return result;
}

unsigned host_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  return static_cast<unsigned>(CPU_COUNT(&set));
}

// Four vCPUs on at most two host CPUs: none on a host with fewer than four,
// else --pin A,B,A,B on the first two CPUs kvmm may use.
std::vector<std::string> overcommit_pin() {
  if (host_cpus() < 4) return {};
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  std::vector<std::string> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(std::to_string(cpu));
  }
  return {"--pin", cpus[0] + "," + cpus[1] + "," + cpus[0] + "," + cpus[1]};
}

void check_ordered_summary(const json& report, const std::string& unit, double count) {
  const json& s = report.at("round_trip").at(unit);
  const auto n = s.at("count").get<double>();
  const auto min = s.at("min").get<double>();
  const auto median = s.at("median").get<double>();
  const auto p90 = s.at("p90").get<double>();
  const auto p99 = s.at("p99").get<double>();
  const auto p999 = s.at("p99_9").get<double>();
  const auto max = s.at("max").get<double>();
  const auto mean = s.at("mean").get<double>();
  CHECK(n == count);
  CHECK(min > 0);
  CHECK(min <= median);
  CHECK(median <= p90);
  CHECK(p90 <= p99);
  CHECK(p99 <= p999);
  CHECK(p999 <= max);
  CHECK(mean >= min);
  CHECK(mean <= max);
}

void check_vcpus(const json& report, size_t cpus) {
  const json& vcpus = report.at("vcpus");
  REQUIRE(vcpus.size() == cpus);
  for (size_t i = 0; i < vcpus.size(); ++i) {
    INFO(vcpus[i].dump());
    CHECK(vcpus[i].at("vcpu") == i);
    CHECK(vcpus[i].at("tid").get<int64_t>() > 0);
    // Present, as a number or as null where the kernel has no schedstats.
    CHECK(vcpus[i].contains("run_delay_ns"));
    CHECK(vcpus[i].at("kvm_run_ns").get<uint64_t>() > 0);
  }
}

void check_round_trips(const std::string& args_text, const std::vector<std::string>& args,
                       size_t cpus, double iterations) {
  INFO("kvmm bench sched " << args_text);
  JsonFile json_file;
  std::vector<std::string> all = args;
  all.insert(all.end(), {"--json", json_file.path});
  const ProcessResult r = bench(all);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_status == 0);
  CHECK(r.out.find("round trip vCPU 0 -> k -> 0") != std::string::npos);
  const std::string text = read_text(json_file.path);
  INFO(text);
  const json report = json::parse(text);
  CHECK(report.at("benchmark") == "sched");
  CHECK(report.at("tsc_khz").get<uint64_t>() > 0);
  CHECK(report.at("config").at("cpus") == cpus);
  CHECK(report.at("host").at("cpus") == host_cpus());
  check_ordered_summary(report, "cycles", iterations);
  check_ordered_summary(report, "ns", iterations);
  check_vcpus(report, cpus);
}

}  // namespace

TEST_CASE("bench sched ipi on 2 vCPUs reports ordered round-trip percentiles") {
  check_round_trips("--cpus 2 --workload ipi --iterations 100",
                    {"--cpus", "2", "--workload", "ipi", "--iterations", "100"}, 2, 100);
}

TEST_CASE("bench sched spin-wait on 2 vCPUs reports ordered round-trip percentiles") {
  check_round_trips("--cpus 2 --workload spin-wait --iterations 100",
                    {"--cpus", "2", "--workload", "spin-wait", "--iterations", "100"}, 2, 100);
}

TEST_CASE("bench sched ipi through the xAPIC MMIO page") {
  JsonFile json_file;
  const ProcessResult r = bench({"--cpus", "2", "--ipi", "xapic", "--iterations", "100",
                                 "--json", json_file.path});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_status == 0);
  const std::string text = read_text(json_file.path);
  INFO(text);
  const json report = json::parse(text);
  CHECK(report.at("ipi_mechanism") == "xapic");
  check_ordered_summary(report, "cycles", 100);
  check_vcpus(report, 2);
}

TEST_CASE("bench sched ipi with more vCPUs than host CPUs completes with every vCPU") {
  std::vector<std::string> args = {"--cpus", "4", "--workload", "ipi", "--iterations", "100",
                                   "--halt-poll-ns", "0"};
  const auto pin = overcommit_pin();
  args.insert(args.end(), pin.begin(), pin.end());
  JsonFile json_file;
  args.insert(args.end(), {"--json", json_file.path});
  const ProcessResult r = bench(args);
  INFO("stderr: " << r.err);
  if (r.exit_status == 1 && r.err.find("KVM_CAP_HALT_POLL") != std::string::npos) {
    WARN("this kernel has no KVM_CAP_HALT_POLL: " << r.err);
    return;
  }
  REQUIRE(r.exit_status == 0);
  const std::string text = read_text(json_file.path);
  INFO(text);
  const json report = json::parse(text);
  CHECK(report.at("config").at("overcommit") == (host_cpus() < 4));
  CHECK(report.at("config").at("halt_poll_ns") == 0);
  check_ordered_summary(report, "cycles", 100);
  check_vcpus(report, 4);
}

TEST_CASE("bench sched spin overcommitted: every vCPU makes progress") {
  JsonFile json_file;
  std::vector<std::string> args = {"--cpus", "4", "--workload", "spin", "--duration-ms", "50",
                                   "--json", json_file.path};
  const auto pin = overcommit_pin();
  args.insert(args.end(), pin.begin(), pin.end());
  const ProcessResult r = bench(args);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_status == 0);
  const std::string text = read_text(json_file.path);
  INFO(text);
  const json report = json::parse(text);
  CHECK(report.at("round_trip").is_null());
  check_vcpus(report, 4);
  double shares = 0;
  for (const json& vcpu : report.at("vcpus")) {
    INFO(vcpu.dump());
    // Each vCPU counts at least one batch before it first looks at the clock.
    CHECK(vcpu.at("spin_count").get<uint64_t>() >= 1024);
    shares += vcpu.at("spin_share").get<double>();
  }
  CHECK(shares == Approx(1.0).epsilon(0.01));
}

TEST_CASE("bench sched --vcpu-sched fifo runs or is refused with the capability to get") {
  JsonFile json_file;
  const ProcessResult r = bench({"--cpus", "2", "--workload", "ipi", "--iterations", "100",
                                 "--vcpu-sched", "fifo", "--json", json_file.path});
  INFO("stderr: " << r.err);
  if (r.exit_status == 0) {
    const json report = json::parse(read_text(json_file.path));
    CHECK(report.at("config").at("vcpu_sched") == "fifo:1");
    check_ordered_summary(report, "cycles", 100);
  } else {
    CHECK(r.exit_status == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find("needs CAP_SYS_NICE (run as root or set RLIMIT_RTPRIO") !=
          std::string::npos);
  }
}

TEST_CASE("without CAP_SYS_NICE --vcpu-sched fifo stops the run before the guest runs") {
  rlimit rtprio{};
  REQUIRE(::getrlimit(RLIMIT_RTPRIO, &rtprio) == 0);
  if (::geteuid() != 0 || rtprio.rlim_cur != 0 || !std::filesystem::exists("/usr/bin/setpriv")) {
    WARN("needs root, RLIMIT_RTPRIO 0 and setpriv to drop CAP_SYS_NICE: skipped");
    return;
  }
  // hello_long prints before it halts: nothing on stdout proves it never ran.
  const ProcessResult r = run_process(
      {"/usr/bin/setpriv", "--bounding-set=-sys_nice", KVMM_BINARY, "run", "--flat",
       std::string(KVMM_GUEST_DIR) + "/hello_long.bin", "--mode", "long", "--vcpu-sched", "fifo"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_status == 1);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "kvmm: --vcpu-sched fifo:1 for vCPU 0 was refused: it needs CAP_SYS_NICE (run as root or "
        "set RLIMIT_RTPRIO, e.g. ulimit -r 99)\n");
}

// kvmm bench sched on real KVM, with few iterations: the structure and
// sanity of its results (every vCPU present, percentiles ordered, progress
// in the spin), never their timing.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/refusal.h"  // read_text
#include "tests/support/run_process.h"

using namespace kvmm::testing;

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

// The value of `"key": VALUE` at or after `from` in kvmm's JSON: nullopt for
// null or when absent. The report's keys are unique within each line.
std::optional<double> json_number(const std::string& text, const std::string& key,
                                  size_t from = 0) {
  const size_t at = text.find("\"" + key + "\": ", from);
  if (at == std::string::npos) return std::nullopt;
  const char* start = text.c_str() + at + key.size() + 4;
  char* end = nullptr;
  const double value = std::strtod(start, &end);
  if (end == start) return std::nullopt;
  return value;
}

bool has_key(const std::string& text, const std::string& key) {
  return text.find("\"" + key + "\": ") != std::string::npos;
}

// The lines of the "vcpus" array, one object each.
std::vector<std::string> vcpu_lines(const std::string& json) {
  std::vector<std::string> out;
  for (const std::string& line : lines_of(json)) {
    if (line.find("{\"vcpu\": ") != std::string::npos) out.push_back(line);
  }
  return out;
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

void check_ordered_summary(const std::string& json, const std::string& unit, double count) {
  const size_t at = json.find("\"" + unit + "\": {");
  REQUIRE(at != std::string::npos);
  const auto n = json_number(json, "count", at);
  const auto min = json_number(json, "min", at);
  const auto median = json_number(json, "median", at);
  const auto p90 = json_number(json, "p90", at);
  const auto p99 = json_number(json, "p99", at);
  const auto p999 = json_number(json, "p99_9", at);
  const auto max = json_number(json, "max", at);
  const auto mean = json_number(json, "mean", at);
  REQUIRE((n && min && median && p90 && p99 && p999 && max && mean));
  CHECK(*n == count);
  CHECK(*min > 0);
  CHECK(*min <= *median);
  CHECK(*median <= *p90);
  CHECK(*p90 <= *p99);
  CHECK(*p99 <= *p999);
  CHECK(*p999 <= *max);
  CHECK(*mean >= *min);
  CHECK(*mean <= *max);
}

void check_vcpus(const std::string& json, size_t cpus) {
  const auto vcpus = vcpu_lines(json);
  REQUIRE(vcpus.size() == cpus);
  for (size_t i = 0; i < vcpus.size(); ++i) {
    INFO(vcpus[i]);
    CHECK(json_number(vcpus[i], "vcpu") == static_cast<double>(i));
    CHECK(json_number(vcpus[i], "tid").value_or(0) > 0);
    // Present, as a number or as null where the kernel has no schedstats.
    CHECK(has_key(vcpus[i], "run_delay_ns"));
    CHECK(json_number(vcpus[i], "kvm_run_ns").value_or(0) > 0);
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
  const std::string json = read_text(json_file.path);
  INFO(json);
  CHECK(json.find("\"benchmark\": \"sched\"") != std::string::npos);
  CHECK(json_number(json, "tsc_khz").value_or(0) > 0);
  CHECK(json_number(json, "cpus", json.find("\"config\"")) == static_cast<double>(cpus));
  CHECK(json_number(json, "cpus") == static_cast<double>(host_cpus()));  // host.cpus
  check_ordered_summary(json, "cycles", iterations);
  check_ordered_summary(json, "ns", iterations);
  check_vcpus(json, cpus);
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
  const std::string json = read_text(json_file.path);
  INFO(json);
  CHECK(json.find("\"ipi_mechanism\": \"xapic\"") != std::string::npos);
  check_ordered_summary(json, "cycles", 100);
  check_vcpus(json, 2);
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
  const std::string json = read_text(json_file.path);
  INFO(json);
  CHECK(json.find(std::string("\"overcommit\": ") + (host_cpus() < 4 ? "true" : "false")) !=
        std::string::npos);
  CHECK(json_number(json, "halt_poll_ns") == 0.0);
  check_ordered_summary(json, "cycles", 100);
  check_vcpus(json, 4);
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
  const std::string json = read_text(json_file.path);
  INFO(json);
  CHECK(json.find("\"round_trip\": null") != std::string::npos);
  check_vcpus(json, 4);
  double shares = 0;
  for (const std::string& line : vcpu_lines(json)) {
    INFO(line);
    // Each vCPU counts at least one batch before it first looks at the clock.
    CHECK(json_number(line, "spin_count").value_or(0) >= 1024);
    shares += json_number(line, "spin_share").value_or(0);
  }
  CHECK(shares == Approx(1.0).epsilon(0.01));
}

TEST_CASE("bench sched --vcpu-sched fifo runs or is refused with the capability to get") {
  JsonFile json_file;
  const ProcessResult r = bench({"--cpus", "2", "--workload", "ipi", "--iterations", "100",
                                 "--vcpu-sched", "fifo", "--json", json_file.path});
  INFO("stderr: " << r.err);
  if (r.exit_status == 0) {
    const std::string json = read_text(json_file.path);
    CHECK(json.find("\"vcpu_sched\": \"fifo:1\"") != std::string::npos);
    check_ordered_summary(json, "cycles", 100);
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

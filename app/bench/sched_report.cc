// `kvmm bench sched` results as a table for people and JSON for scripts.
//
// JSON schema (one object; integers unless noted; null where unavailable):
//   {
//     "benchmark": "sched",
//     "host": {"cpus": 2,                  // CPUs kvmm may run on
//              "cpu_model": "...", "kernel": "6.1.0-...",
//              "kvm_module": "kvm_intel",  // or kvm_amd, kvm_pvm
//              "nested": true},            // the host is itself a VM
//     "config": {"workload": "ipi",        // ipi, spin-wait or spin
//                "cpus": 4, "overcommit": true,   // cpus > host.cpus
//                "pin": [0, 1],            // [] when not pinned
//                "vcpu_sched": "fifo:1",   // null: kvmm's own policy
//                "halt_poll_ns": 0,        // null: the kernel's default
//                "iterations": 10000, "warmup": 100,  // ipi, spin-wait
//                "duration_ms": 200},      // spin
//     "tsc_khz": 2100000,                  // KVM_GET_TSC_KHZ
//     "ipi_mechanism": "x2apic",           // or xapic
//     "wall_ns": 123456789,                // the guest run, host clock
//     "round_trip": {                      // null for spin
//       "cycles": {"count": 10000, "min": 1, "median": 2, "p90": 3, "p99": 4,
//                  "p99_9": 5, "max": 6, "mean": 2.5},  // mean is a float
//       "ns": {... the same keys, in ns ...}},
//     "vcpus": [{"vcpu": 0, "tid": 1234,
//                "run_delay_ns": 5678,     // schedstat: runnable, waiting for a CPU
//                "kvm_run_ns": 99999,      // wall time inside KVM_RUN
//                "spin_count": 123456,     // spin only, else null
//                "spin_share": 0.25,       // spin only: count / sum of counts (float)
//                "exits": 40, "insn_emulation": 0,   // KVM's stats fd: all exits,
//                                                    //   instructions KVM emulated
//                "halt_exits": 10, "halt_successful_poll": 3,
//                "halt_attempted_poll": 5, "halt_wakeup": 7}]   // KVM's stats fd
//   }
#include <cinttypes>
#include <cstdio>
#include <string>

#include "app/bench/sched_bench.h"

#include "base/util/json_writer.h"

namespace kvmm {

namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

void summary_json(JsonWriter& json, std::string_view key, const SampleSummary& s) {
  json.key(key).begin_object(JsonWriter::Layout::kInline);
  json.member("count", s.count);
  json.member("min", s.min);
  json.member("median", s.median);
  json.member("p90", s.p90);
  json.member("p99", s.p99);
  json.member("p99_9", s.p999);
  json.member("max", s.max);
  json.member("mean", JsonWriter::Fixed{s.mean, 3});
  json.end_object();
}

template <typename T>
void optional_member(JsonWriter& json, std::string_view key, const std::optional<T>& value) {
  if (value) {
    json.member(key, *value);
  } else {
    json.member_null(key);
  }
}

uint64_t total_spin(const SchedBenchResult& result) {
  uint64_t total = 0;
  for (const auto& vcpu : result.vcpus) total += vcpu.spin_count.value_or(0);
  return total;
}

std::optional<double> spin_share(const SchedBenchResult& result, const SchedVcpuResult& vcpu) {
  const uint64_t total = total_spin(result);
  if (!vcpu.spin_count || total == 0) return std::nullopt;
  return static_cast<double>(*vcpu.spin_count) / static_cast<double>(total);
}

bool has_round_trips(const SchedBenchResult& result) {
  return result.config.workload != SchedBenchConfig::Workload::kSpin;
}

std::string line(const char* format, auto... values) {
  char text[256];
  std::snprintf(text, sizeof text, format, values...);
  return text;
}

std::string summary_row(const char* unit, const SampleSummary& s) {
  return line("  %-8s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
              " %12" PRIu64 " %12.1f\n",
              unit, s.min, s.median, s.p90, s.p99, s.p999, s.max, s.mean);
}

std::string count(const std::optional<uint64_t>& value) {
  return value ? std::to_string(*value) : "-";
}

std::string ms(const std::optional<uint64_t>& ns) {
  return ns ? number(static_cast<double>(*ns) / 1e6) : "-";
}

}  // namespace

std::string format_sched_table(const SchedBenchResult& r) {
  const SchedBenchConfig& c = r.config;
  std::string out;
  out += "kvmm bench sched: workload " + sched_workload_name(c.workload) + ", " +
         std::to_string(c.cpus) + " vCPUs on " + std::to_string(r.host.cpus) + " host CPUs" +
         (c.cpus > r.host.cpus ? " (overcommit)" : "") + ", vcpu-sched " +
         (c.vcpu_sched ? vcpu_sched_name(*c.vcpu_sched) : "default") + ", halt-poll-ns " +
         (c.halt_poll_ns ? std::to_string(*c.halt_poll_ns) : "default") +
         (c.pin.empty() ? "" : ", pinned") + "\n";
  out += "host: " + r.host.cpu_model + ", Linux " + r.host.kernel + ", " +
         (r.host.kvm_module.empty() ? "unknown KVM module" : r.host.kvm_module) +
         (r.host.nested ? ", nested (the host is a VM)" : ", bare metal") + "; TSC " +
         std::to_string(r.tsc_khz) + " kHz; IPIs via " + r.ipi_mechanism + "\n";
  if (has_round_trips(r)) {
    out += "\nround trip vCPU 0 -> k -> 0, " + std::to_string(r.cycles.count) + " after " +
           std::to_string(c.warmup) + " warm-up:\n";
    out += line("  %-8s %10s %10s %10s %10s %10s %12s %12s\n", "", "min", "median", "p90", "p99",
                "p99.9", "max", "mean");
    out += summary_row("cycles", r.cycles);
    out += summary_row("ns", r.ns);
  }
  out += "\n" + line("  %-5s %8s %13s %12s %10s %10s %9s %13s %12s %6s\n", "vCPU", "tid",
                     "run delay ms", "KVM_RUN ms", "exits", "emulated", "halts", "polls ok/try",
                     "spin count", "share");
  for (const SchedVcpuResult& v : r.vcpus) {
    const std::string polls = v.halt_successful_poll && v.halt_attempted_poll
                                  ? std::to_string(*v.halt_successful_poll) + "/" +
                                        std::to_string(*v.halt_attempted_poll)
                                  : "-";
    const auto share = spin_share(r, v);
    out += line("  %-5u %8d %13s %12s %10s %10s %9s %13s %12s %6s\n", v.vcpu, v.tid,
                ms(v.run_delay_ns).c_str(), ms(v.kvm_run_ns).c_str(), count(v.exits).c_str(),
                count(v.insn_emulation).c_str(), count(v.halt_exits).c_str(), polls.c_str(),
                count(v.spin_count).c_str(), share ? number(*share).c_str() : "-");
  }
  out += "wall " + ms(r.wall_ns) + " ms\n";
  return out;
}

std::string format_sched_json(const SchedBenchResult& r) {
  using Layout = JsonWriter::Layout;
  const SchedBenchConfig& c = r.config;
  JsonWriter json;
  json.begin_object();
  json.member("benchmark", "sched");
  json.key("host").begin_object(Layout::kInline);
  json.member("cpus", r.host.cpus);
  json.member("cpu_model", r.host.cpu_model);
  json.member("kernel", r.host.kernel);
  json.member("kvm_module", r.host.kvm_module);
  json.member("nested", r.host.nested);
  json.end_object();
  json.key("config").begin_object(Layout::kInline);
  json.member("workload", sched_workload_name(c.workload));
  json.member("cpus", c.cpus);
  json.member("overcommit", c.cpus > r.host.cpus);
  json.key("pin").begin_array();
  for (const int cpu : c.pin) json.value(cpu);
  json.end_array();
  if (c.vcpu_sched) {
    json.member("vcpu_sched", vcpu_sched_name(*c.vcpu_sched));
  } else {
    json.member_null("vcpu_sched");
  }
  optional_member(json, "halt_poll_ns", c.halt_poll_ns);
  json.member("iterations", c.iterations);
  json.member("warmup", c.warmup);
  json.member("duration_ms", c.duration_ms);
  json.end_object();
  json.member("tsc_khz", r.tsc_khz);
  json.member("ipi_mechanism", r.ipi_mechanism);
  json.member("wall_ns", r.wall_ns);
  if (has_round_trips(r)) {
    json.key("round_trip").begin_object();
    summary_json(json, "cycles", r.cycles);
    summary_json(json, "ns", r.ns);
    json.end_object();
  } else {
    json.member_null("round_trip");
  }
  // One line per vCPU: scripts and tests read them line by line.
  json.key("vcpus").begin_array();
  for (const SchedVcpuResult& v : r.vcpus) {
    json.begin_object(Layout::kInline);
    json.member("vcpu", v.vcpu);
    json.member("tid", v.tid);
    optional_member(json, "run_delay_ns", v.run_delay_ns);
    json.member("kvm_run_ns", v.kvm_run_ns);
    optional_member(json, "spin_count", v.spin_count);
    if (const std::optional<double> share = spin_share(r, v)) {
      json.member("spin_share", JsonWriter::Fixed{*share, 3});
    } else {
      json.member_null("spin_share");
    }
    optional_member(json, "exits", v.exits);
    optional_member(json, "insn_emulation", v.insn_emulation);
    optional_member(json, "halt_exits", v.halt_exits);
    optional_member(json, "halt_successful_poll", v.halt_successful_poll);
    optional_member(json, "halt_attempted_poll", v.halt_attempted_poll);
    optional_member(json, "halt_wakeup", v.halt_wakeup);
    json.end_object();
  }
  json.end_array();
  json.end_object();
  return json.finish();
}

}  // namespace kvmm

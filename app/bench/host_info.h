#pragma once
// What a benchmark report records about where it ran, so numbers from
// different machines are never compared blind: CPU, kernel, KVM module,
// nesting, TSC frequency and its source, kvmm's version, the date.
#include <cstdint>
#include <optional>
#include <string>

namespace kvmm {

class JsonWriter;

struct TscFrequency {
  double khz = 0;
  // "KVM_GET_TSC_KHZ", "cpuid 0x15", "cpuid 0x16" or "/proc/cpuinfo cpu MHz";
  // the last two are approximations, and the report says so.
  std::string source;
};

struct BenchHostInfo {
  std::string cpu_model;     // /proc/cpuinfo "model name"
  std::string kernel;        // uname: sysname release version
  std::string kvm_module;    // kvm_intel, kvm_amd, kvm_pvm, or "unknown"
  bool nested = false;       // The CPU flag "hypervisor": this host is itself a guest.
  std::string kvmm_version;
  std::string date_utc;      // ISO 8601
  unsigned host_cpus = 0;    // CPUs this process may run on
};

BenchHostInfo collect_host_info(const std::string& kvmm_version);

// The TSC frequency when KVM cannot tell (`kvm_khz` is nullopt): host cpuid
// 0x15, then 0x16, then /proc/cpuinfo. Throws Error when nothing says.
TscFrequency tsc_frequency(std::optional<uint32_t> kvm_khz);

// The "host" object of every bench report (keys documented in
// docs/measuring.md#json-and-csv).
void write_host_json(JsonWriter& json, const BenchHostInfo& host, const TscFrequency& tsc);
// Two lines for the top of a text report.
std::string format_host_text(const BenchHostInfo& host, const TscFrequency& tsc);

}  // namespace kvmm

#include "app/bench/host_info.h"

#include <cpuid.h>
#include <sched.h>
#include <sys/utsname.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include "app/bench/report_writer.h"
#include "base/util/error.h"
#include "vmm/kvm/kvm_system.h"

namespace kvmm {

namespace {

// The value of the first "name : value" line of /proc/cpuinfo.
std::string cpuinfo_field(const std::string& name) {
  std::ifstream file("/proc/cpuinfo");
  std::string line;
  while (std::getline(file, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    if (key != name) continue;
    const size_t start = line.find_first_not_of(' ', colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

bool has_cpu_flag(const std::string& flag) {
  std::istringstream flags(cpuinfo_field("flags"));
  std::string word;
  while (flags >> word) {
    if (word == flag) return true;
  }
  return false;
}

}  // namespace

BenchHostInfo collect_host_info(const std::string& kvmm_version) {
  BenchHostInfo host;
  host.cpu_model = cpuinfo_field("model name");
  if (host.cpu_model.empty()) host.cpu_model = "unknown";
  utsname names{};
  if (::uname(&names) == 0) {
    host.kernel = std::string(names.sysname) + " " + names.release + " " + names.version;
  }
  host.kvm_module = kvm_backend_module();
  if (host.kvm_module.empty()) host.kvm_module = "unknown";
  host.nested = has_cpu_flag("hypervisor");
  host.kvmm_version = kvmm_version;
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
  host.date_utc = date;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    host.host_cpus = static_cast<unsigned>(CPU_COUNT(&allowed));
  }
  return host;
}

TscFrequency tsc_frequency(std::optional<uint32_t> kvm_khz) {
  if (kvm_khz) return {static_cast<double>(*kvm_khz), "KVM_GET_TSC_KHZ"};
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  // SDM CPUID leaf 0x15: TSC = crystal (ECX Hz) * EBX / EAX.
  if (__get_cpuid(0x15, &eax, &ebx, &ecx, &edx) && eax != 0 && ebx != 0 && ecx != 0) {
    return {static_cast<double>(ecx) * ebx / eax / 1000.0, "cpuid 0x15"};
  }
  // Leaf 0x16 EAX: the base frequency in MHz, which the TSC usually runs at.
  if (__get_cpuid(0x16, &eax, &ebx, &ecx, &edx) && eax != 0) {
    return {eax * 1000.0, "cpuid 0x16 (base frequency, approximate)"};
  }
  const std::string mhz = cpuinfo_field("cpu MHz");
  if (!mhz.empty()) {
    try {
      return {std::stod(mhz) * 1000.0, "/proc/cpuinfo cpu MHz (approximate)"};
    } catch (const std::exception&) {
    }
  }
  throw Error("cannot tell the TSC frequency (no KVM_GET_TSC_KHZ, cpuid 0x15/0x16 or "
              "/proc/cpuinfo): the benchmark cannot convert cycles to time on this host");
}

void write_host_json(JsonWriter& json, const BenchHostInfo& host, const TscFrequency& tsc) {
  json.key("host").begin_object();
  json.member("cpu_model", host.cpu_model);
  json.member("kernel", host.kernel);
  json.member("kvm_module", host.kvm_module);
  json.member("nested", host.nested);
  json.member("host_cpus", uint64_t{host.host_cpus});
  json.member("tsc_khz", tsc.khz);
  json.member("tsc_khz_source", tsc.source);
  json.member("kvmm_version", host.kvmm_version);
  json.member("date", host.date_utc);
  json.end_object();
}

std::string format_host_text(const BenchHostInfo& host, const TscFrequency& tsc) {
  return "host: " + host.cpu_model + ", " + std::to_string(host.host_cpus) + " CPUs, " +
         host.kernel + "\n" + "KVM: " + host.kvm_module +
         (host.nested ? ", nested (this host is itself a guest)" : ", not nested") +
         "; TSC " + format_fixed(tsc.khz, 0) + " kHz (" + tsc.source + "); kvmm " +
         host.kvmm_version + "; " + host.date_utc + "\n";
}

}  // namespace kvmm

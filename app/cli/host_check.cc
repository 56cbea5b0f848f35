#include "app/cli/host_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>

#include "base/memory/guest_memory.h"
#include "base/util/error.h"
#include "base/util/format.h"
#include "base/util/json_writer.h"
#include "devices/virtio/block/io_uring_ring.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/cpu/cpu_mode.h"
#include "vmm/kvm/kvm_system.h"

namespace kvmm {

namespace {

// The checks as they are made, printed together at the end.
class Report {
 public:
  void pass(std::string_view name, const std::string& line) { add(name, CheckStatus::kPass, line); }
  void warn(std::string_view name, const std::string& line) { add(name, CheckStatus::kWarn, line); }
  void fail(std::string_view name, const std::string& line) { add(name, CheckStatus::kFail, line); }
  void info(std::string_view name, const std::string& line) { add(name, CheckStatus::kInfo, line); }
  void add(HostCheck check) { checks_.push_back(std::move(check)); }
  bool failed() const {
    return std::any_of(checks_.begin(), checks_.end(),
                       [](const HostCheck& c) { return c.status == CheckStatus::kFail; });
  }
  const std::vector<HostCheck>& checks() const { return checks_; }

 private:
  void add(std::string_view name, CheckStatus status, const std::string& line) {
    checks_.push_back({std::string(name), status, line});
  }
  std::vector<HostCheck> checks_;
};

const char* status_tag(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPass: return "PASS";
    case CheckStatus::kWarn: return "WARN";
    case CheckStatus::kFail: return "FAIL";
    case CheckStatus::kInfo: return "INFO";
  }
  return "";
}

const char* status_name(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPass: return "pass";
    case CheckStatus::kWarn: return "warn";
    case CheckStatus::kFail: return "fail";
    case CheckStatus::kInfo: return "info";
  }
  return "";
}

// "vmx", "svm" or "" from /proc/cpuinfo's flags.
std::string virtualization_flag() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (!line.starts_with("flags")) continue;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      if (word == "vmx" || word == "svm") return word;
    }
    return "";
  }
  return "";
}

// Runs `out 0x3f8, al; hlt` in real mode and expects exactly those two exits:
// proof that KVM_RUN really works, not only that the device opens.
void run_probe_guest(const KvmSystem& kvm) {
  KvmVm vm = kvm.create_vm();
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, 0x10000);
  vm.set_memory_slot(0, GuestAddress{0}, 0x10000, memory.regions()[0].mapping.data());
  vm.set_tss_address(kTssAddress);
  // mov dx, 0x3f8 ; mov al, 'K' ; out dx, al ; hlt
  const uint8_t code[] = {0xba, 0xf8, 0x03, 0xb0, 'K', 0xee, 0xf4};
  if (!memory.write(kFlatLoadAddress, code)) throw Error("probe guest does not fit");
  KvmVcpu vcpu = vm.create_vcpu(0);
  kvm_sregs sregs = vcpu.sregs();
  kvm_regs regs{};
  set_entry_state(CpuMode::kReal, kFlatLoadAddress, kFlatLoadAddress, sregs, regs);
  vcpu.set_sregs(sregs);
  vcpu.set_regs(regs);

  auto next_exit = [&vcpu] {
    for (int tries = 0; tries < 100; ++tries) {
      if (vcpu.run() == KvmVcpu::RunResult::kExit) return vcpu.run_area()->exit_reason;
    }
    throw Error("KVM_RUN was interrupted 100 times in a row");
  };
  const uint32_t first = next_exit();
  const kvm_run& run = *vcpu.run_area();
  if (first != KVM_EXIT_IO || run.io.port != 0x3f8) {
    throw Error("probe guest: expected a port write to 0x3f8, got exit reason " +
                std::to_string(first));
  }
  const uint32_t second = next_exit();
  if (second != KVM_EXIT_HLT) {
    throw Error("probe guest: expected hlt, got exit reason " + std::to_string(second));
  }
}

void check_backend(Report& report, bool need_linux) {
  const std::string backend = kvm_backend_module();
  if (backend == "kvm_intel" || backend == "kvm_amd") {
    report.pass("kvm-backend", "KVM backend " + backend + " (hardware virtualization)");
  } else if (backend == "kvm_pvm") {
    // Measured: stock Debian kernels hang early under kvm_pvm (with kvmm and
    // with QEMU alike), while kvmm's flat guests run.
    const std::string line =
        "KVM backend kvm_pvm (paravirtual): runs flat guests, not stock Linux kernels; for "
        "Linux use a host with VT-x/AMD-V or tools/with-kvm --nested";
    if (need_linux) {
      report.fail("kvm-backend", line);
    } else {
      report.warn("kvm-backend", line);
    }
  } else {
    report.info("kvm-backend", "KVM backend module not found in /sys/module");
  }
}

// /dev/kvm and what it offers: capabilities, backend, limits, a test guest.
void check_kvm(Report& report, bool need_linux) {
  std::optional<KvmSystem> kvm;
  try {
    kvm = KvmSystem::open();
    report.pass("kvm-device", KvmSystem::device_path() + " opens read-write, KVM API version " +
                                  std::to_string(kvm->api_version()));
  } catch (const Error& e) {
    report.fail("kvm-device", e.what());
    return;
  }

  for (const Capability& cap : required_capabilities()) {
    if (kvm->check_extension(cap.id) > 0) {
      report.pass(cap.name, std::string(cap.name) + " (" + cap.why + ")");
    } else {
      report.fail(cap.name, std::string(cap.name) + " missing (needed for " + cap.why +
                                "): use a newer host kernel");
    }
  }
  check_backend(report, need_linux);
  const unsigned host_cpus = std::thread::hardware_concurrency();
  report.info("vcpu-limits", "vCPUs per VM: up to " + std::to_string(kvm->max_vcpus()) +
                                 " (KVM_CAP_MAX_VCPUS); recommended " +
                                 std::to_string(kvm->check_extension(KVM_CAP_NR_VCPUS)) +
                                 "; host CPUs " + std::to_string(host_cpus));

  if (!report.failed()) {
    try {
      run_probe_guest(*kvm);
      report.pass("test-guest", "a test guest ran (KVM_RUN: port write, then hlt)");
    } catch (const Error& e) {
      report.fail("test-guest", std::string("a test guest did not run: ") + e.what());
    }
  }
}

void check_io_uring(Report& report) {
  const std::string why = io_uring_unavailable_reason();
  if (why.empty()) {
    report.pass("io_uring", "io_uring works (the disks' I/O engine, one ring per --disk)");
  } else {
    report.warn("io_uring", "io_uring is unavailable: " + why +
                                "; disks use worker threads instead (slower); on Linux 6.6+ "
                                "allow it: sysctl kernel.io_uring_disabled=0");
  }
}

}  // namespace

HostCheck check_device_node(std::string_view name, const std::string& path,
                            std::string_view feature, std::string_view module) {
  HostCheck check{std::string(name), CheckStatus::kPass, ""};
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    check.message = path + " opens read-write (" + std::string(feature) + ")";
    return check;
  }
  const int err = errno;
  check.status = CheckStatus::kWarn;
  const std::string without = std::string(feature) + " cannot work";
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
      check.message = path + " is missing (" + std::strerror(err) + "): " + without +
                      "; load the module: sudo modprobe " + std::string(module);
      break;
    case EACCES:
    case EPERM:
      check.message = path + ": permission denied: " + without +
                      " for this user; give it read-write access to " + path +
                      " (a udev rule, or its group) or run kvmm as root";
      break;
    default:
      check.message = path + " cannot be opened (" + std::strerror(err) + "): " + without;
      break;
  }
  return check;
}

std::string bracketed_choice(std::string_view text) {
  const size_t open = text.find('[');
  const size_t close = text.find(']', open);
  if (open == std::string_view::npos || close == std::string_view::npos) return "";
  return std::string(text.substr(open + 1, close - open - 1));
}

HostCheck check_transparent_hugepages(const std::string& path) {
  HostCheck check{"transparent-hugepages", CheckStatus::kInfo, ""};
  std::ifstream file(path);
  std::string text;
  std::getline(file, text);
  const std::string policy = bracketed_choice(text);
  if (policy.empty()) {
    check.status = CheckStatus::kWarn;
    check.message = "transparent huge pages: cannot read the policy in " + path +
                    ": guest RAM is in 4 KiB pages (more TLB misses)";
  } else if (policy == "always") {
    check.message = "transparent huge pages: always (" + path +
                    "): guest RAM may be backed by 2 MiB pages, fewer TLB misses";
  } else {
    // kvmm does not madvise(MADV_HUGEPAGE) guest RAM, so madvise is never.
    check.message = "transparent huge pages: " + policy + " (" + path +
                    "): guest RAM is in 4 KiB pages (kvmm does not ask for huge ones); for 2 "
                    "MiB pages: echo always | sudo tee " + path;
  }
  return check;
}

std::string format_checks_json(const std::vector<HostCheck>& checks) {
  const bool ok = std::none_of(checks.begin(), checks.end(),
                               [](const HostCheck& c) { return c.status == CheckStatus::kFail; });
  JsonWriter json;
  json.begin_object();
  json.member("ok", ok);
  json.key("checks").begin_array();
  for (const HostCheck& check : checks) {
    json.begin_object(JsonWriter::Layout::kInline);
    json.member("name", check.name);
    json.member("status", status_name(check.status));
    json.member("message", check.message);
    json.end_object();
  }
  json.end_array();
  json.end_object();
  return json.finish();
}

std::string format_checks_text(const std::vector<HostCheck>& checks) {
  std::string out;
  for (const HostCheck& check : checks) {
    out += std::string(status_tag(check.status)) + "  " + check.message + "\n";
  }
  return out;
}

int run_host_check(std::ostream& out, CheckOutput output, bool need_linux) {
  Report report;
  const std::string flag = virtualization_flag();
  if (!flag.empty()) {
    report.pass("cpu-virtualization", "CPU has hardware virtualization (" + flag + ")");
  } else {
    report.warn("cpu-virtualization",
                "CPU flags show no vmx/svm: KVM can only work if the kernel provides it "
                "another way (nested or paravirtual)");
  }
  check_kvm(report, need_linux);
  // What guests can do here besides run: the devices and engines behind
  // --net and --disk, and how guest RAM is paged. Each only warns: a guest
  // without them runs.
  report.add(check_device_node("tun", "/dev/net/tun", "--net tap= and fd=", "tun"));
  report.add(check_device_node("vhost-net", "/dev/vhost-net", "--net ...,vhost=on", "vhost_net"));
  check_io_uring(report);
  report.add(check_transparent_hugepages("/sys/kernel/mm/transparent_hugepage/enabled"));

  switch (output) {
    case CheckOutput::kText: out << format_checks_text(report.checks()); break;
    case CheckOutput::kJson: out << format_checks_json(report.checks()); break;
    case CheckOutput::kQuiet: break;
  }
  return report.failed() ? 1 : 0;
}

}  // namespace kvmm

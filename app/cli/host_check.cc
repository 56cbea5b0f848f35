#include "app/cli/host_check.h"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>

#include "base/memory/guest_memory.h"
#include "base/util/error.h"
#include "base/util/format.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/cpu/cpu_mode.h"
#include "vmm/kvm/kvm_system.h"

namespace kvmm {

namespace {

class Report {
 public:
  Report(std::ostream& out, bool quiet) : out_(out), quiet_(quiet) {}
  void pass(const std::string& line) { print("PASS", line); }
  void warn(const std::string& line) { print("WARN", line); }
  void fail(const std::string& line) {
    print("FAIL", line);
    failed_ = true;
  }
  void info(const std::string& line) { print("INFO", line); }
  bool failed() const { return failed_; }

 private:
  void print(const char* tag, const std::string& line) {
    if (!quiet_) out_ << tag << "  " << line << '\n';
  }
  std::ostream& out_;
  bool quiet_;
  bool failed_ = false;
};

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
    report.pass("KVM backend " + backend + " (hardware virtualization)");
  } else if (backend == "kvm_pvm") {
    // Measured: stock Debian kernels hang early under kvm_pvm (with kvmm and
    // with QEMU alike), while kvmm's flat guests run.
    const std::string line =
        "KVM backend kvm_pvm (paravirtual): runs flat guests, not stock Linux kernels; for "
        "Linux use a host with VT-x/AMD-V or tools/with-kvm --nested";
    if (need_linux) {
      report.fail(line);
    } else {
      report.warn(line);
    }
  } else {
    report.info("KVM backend module not found in /sys/module");
  }
}

}  // namespace

int run_host_check(std::ostream& out, bool quiet, bool need_linux) {
  Report report(out, quiet);
  const std::string flag = virtualization_flag();
  if (!flag.empty()) {
    report.pass("CPU has hardware virtualization (" + flag + ")");
  } else {
    report.warn("CPU flags show no vmx/svm: KVM can only work if the kernel provides it "
                "another way (nested or paravirtual)");
  }

  std::optional<KvmSystem> kvm;
  try {
    kvm = KvmSystem::open();
    report.pass(KvmSystem::device_path() + " opens read-write, KVM API version " +
                std::to_string(kvm->api_version()));
  } catch (const Error& e) {
    report.fail(e.what());
    return 1;
  }

  for (const Capability& cap : required_capabilities()) {
    if (kvm->check_extension(cap.id) > 0) {
      report.pass(std::string(cap.name) + " (" + cap.why + ")");
    } else {
      report.fail(std::string(cap.name) + " missing (needed for " + cap.why +
                  "): use a newer host kernel");
    }
  }
  check_backend(report, need_linux);
  const unsigned host_cpus = std::thread::hardware_concurrency();
  report.info("vCPUs per VM: up to " + std::to_string(kvm->max_vcpus()) +
              " (KVM_CAP_MAX_VCPUS); recommended " +
              std::to_string(kvm->check_extension(KVM_CAP_NR_VCPUS)) + "; host CPUs " +
              std::to_string(host_cpus));

  if (!report.failed()) {
    try {
      run_probe_guest(*kvm);
      report.pass("a test guest ran (KVM_RUN: port write, then hlt)");
    } catch (const Error& e) {
      report.fail(std::string("a test guest did not run: ") + e.what());
    }
  }
  return report.failed() ? 1 : 0;
}

}  // namespace kvmm

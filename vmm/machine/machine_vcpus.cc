// vCPU creation, boot state and host CPU pinning.
#include <pthread.h>
#include <sched.h>

#include "base/util/error.h"
#include "base/util/format.h"
#include "vmm/boot/acpi/acpi_tables.h"
#include "vmm/cpu/cpuid.h"
#include "vmm/boot/multiboot/multiboot.h"
#include "vmm/cpu/linux_entry.h"
#include "vmm/cpu/x86_defaults.h"
#include "vmm/machine/machine.h"

namespace kvmm {

namespace {
// Real mode reaches the first MiB (plus the HMA, which a waking vector never uses).
constexpr uint64_t kRealModeLimit = 1 << 20;
}  // namespace

void Machine::check_vcpu_limits(const KvmSystem& kvm) const {
  const int max = kvm.max_vcpus();
  if (config_.cpus > static_cast<uint32_t>(max)) {
    throw Error("--cpus " + std::to_string(config_.cpus) + " is more than this host's KVM allows (" +
                std::to_string(max) + ", KVM_CAP_MAX_VCPUS): use fewer vCPUs");
  }
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) < 0) throw_errno("sched_getaffinity failed");
  for (int cpu : config_.pin) {
    if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)) {
      throw Error("--pin: host CPU " + std::to_string(cpu) + " is not available to kvmm (it may "
                  "use " + std::to_string(CPU_COUNT(&allowed)) + " CPUs; see nproc): pick another");
    }
  }
}

std::vector<std::unique_ptr<Vcpu>> Machine::create_vcpus() {
  const std::vector<uint8_t> supported = kvm_.supported_cpuid();
  const CpuBrand brand = host_cpu_brand();
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  for (uint32_t index = 0; index < config_.cpus; ++index) {
    KvmVcpu kvm_vcpu = vm_.create_vcpu(index);
    // Before any register: long mode needs CPUID's LM bit in the guest's view
    // before EFER.LME is accepted.
    std::vector<uint8_t> cpuid = cpuid_for_vcpu(supported, index, config_.cpus, brand);
    // The local APICs are KVM's (create_vm()), so is the TSC-deadline timer.
    if (is_linux()) add_tsc_deadline(cpuid);
    kvm_vcpu.set_cpuid(cpuid);
    if (is_linux()) {
      kvm_vcpu.set_msrs(boot_msrs());
      kvm_vcpu.set_fpu(boot_fpu());
      kvm_lapic_state lapic = kvm_vcpu.lapic();
      set_lint_pins(lapic);
      kvm_vcpu.set_lapic(lapic);
    }
    // A multiboot guest may sleep (ACPI S3): each vCPU wakes reset to the
    // state it is created in.
    Vcpu::WakeHandler on_wake;
    if (is_multiboot()) {
      auto init = std::make_shared<const VcpuInitState>(
          VcpuInitState{kvm_vcpu.regs(), kvm_vcpu.sregs(), kvm_vcpu.lapic()});
      on_wake = [this, init](KvmVcpu& vcpu) { wake_vcpu(vcpu, *init); };
    }
    // A kernel's application processors wait in the kernel for INIT/SIPI
    // from the boot processor; only vCPU 0 gets an entry state. A flat SMP
    // guest has no such bring-up: every vCPU starts at the entry point, on
    // its own stack, and tells itself apart by its APIC ID.
    if (index == 0 || is_flat_smp()) set_boot_state(kvm_vcpu);
    if (index != 0 && is_flat_smp()) kvm_vcpu.set_mp_state(KVM_MP_STATE_RUNNABLE);
    vcpus.push_back(std::make_unique<Vcpu>(
        std::move(kvm_vcpu), Vcpu::Wiring{&pio_, &mmio_, &stop_, exit_log_.get()}, &pause_gate_,
        std::move(on_wake)));
    if (config_.stats) vcpus.back()->enable_stats();
  }
  return vcpus;
}

void Machine::set_boot_state(KvmVcpu& vcpu) const {
  kvm_sregs sregs = vcpu.sregs();
  kvm_regs regs{};
  if (!is_linux()) {
    const uint64_t top = low_ram_end(config_.memory_bytes) & ~uint64_t{0xf};
    const GuestAddress stack_top{top - uint64_t{vcpu.index()} * kFlatStackBytes};
    set_entry_state(config_.mode, kFlatLoadAddress, stack_top, sregs, regs);
  } else if (linux_->protocol == LinuxBootInfo::Protocol::kMultiboot) {
    set_multiboot_entry(memory_, linux_->entry, linux_->boot_data, kMultibootBootloaderMagic, sregs,
                        regs);
  } else if (linux_->protocol == LinuxBootInfo::Protocol::kPvh) {
    set_pvh_entry(memory_, linux_->entry, linux_->boot_data, sregs, regs);
  } else {
    set_linux64_entry(memory_, linux_->entry, linux_->boot_data, sregs, regs);
  }
  vcpu.set_sregs(sregs);
  vcpu.set_regs(regs);
}

void Machine::wake_vcpu(KvmVcpu& vcpu, const VcpuInitState& init) const {
  kvm_sregs sregs = init.sregs;
  kvm_regs regs = init.regs;
  if (vcpu.index() == 0) {
    // As a PC's firmware resumes (ACPI 6.4 §5.2.10, Table 5.14): real
    // mode at the waking vector, CS = vector >> 4, IP = vector & 0xf.
    // Guest-controlled: whatever the guest left in its FACS.
    const GuestAddress field{acpi_facs_address().value + kFacsFirmwareWakingVectorOffset};
    const std::optional<uint32_t> vector = memory_.read_obj<uint32_t>(field);
    if (!vector || *vector >= kRealModeLimit) {
      throw Error("the guest woke from S3 with FACS firmware_waking_vector " +
                  (vector ? hex(*vector) : std::string("unreadable")) +
                  ": kvmm resumes only at a real-mode address below 1 MiB");
    }
    sregs.cs.selector = static_cast<uint16_t>(*vector >> 4);
    sregs.cs.base = uint64_t{sregs.cs.selector} << 4;
    regs.rip = *vector & 0xf;
  }
  vcpu.set_msrs(boot_msrs());
  vcpu.set_fpu(boot_fpu());
  vcpu.set_sregs(sregs);
  vcpu.set_regs(regs);
  vcpu.set_lapic(init.lapic);
  // The others wait for INIT/SIPI again, as the firmware leaves them.
  vcpu.set_mp_state(vcpu.index() == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED);
}

void Machine::prepare_vcpu_thread(uint32_t vcpu) const {
  pin_current_thread(vcpu);
  if (!config_.vcpu_sched) return;
  try {
    apply_vcpu_sched(*config_.vcpu_sched, vcpu);
  } catch (const Error&) {
    // Under --jail this runs with the jail's ids, without CAP_SYS_NICE:
    // fifo and rr then need RLIMIT_RTPRIO, which the change of ids keeps.
    const VcpuSchedPolicy::Kind kind = config_.vcpu_sched->kind;
    if (!config_.jail || kind == VcpuSchedPolicy::Kind::kOther ||
        kind == VcpuSchedPolicy::Kind::kIdle) {
      throw;
    }
    throw Error("--vcpu-sched " + vcpu_sched_name(*config_.vcpu_sched) + " for vCPU " +
                std::to_string(vcpu) + " was refused: --jail leaves kvmm without CAP_SYS_NICE; "
                "raise RLIMIT_RTPRIO before starting kvmm (e.g. ulimit -r 99), or drop one of "
                "the two options");
  }
}

void Machine::pin_current_thread(uint32_t vcpu) const {
  if (vcpu >= config_.pin.size()) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(config_.pin[vcpu], &set);
  if (int err = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set); err != 0) {
    throw_errno("cannot pin vCPU " + std::to_string(vcpu) + " to host CPU " +
                    std::to_string(config_.pin[vcpu]),
                err);
  }
}

}  // namespace kvmm

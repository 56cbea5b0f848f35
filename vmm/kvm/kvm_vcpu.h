#pragma once
// A vCPU fd and its shared kvm_run area.
#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <span>

#include "base/memory/mmap_region.h"
#include "base/util/unique_fd.h"

namespace kvmm {

class KvmVcpu {
 public:
  KvmVcpu(uint32_t index, UniqueFd fd, MmapRegion run)
      : index_(index), fd_(std::move(fd)), run_(std::move(run)) {}

  uint32_t index() const { return index_; }
  int fd() const { return fd_.get(); }
  kvm_run* run_area() const { return reinterpret_cast<kvm_run*>(run_.data()); }
  // Bytes of the kvm_run mapping, for bounds-checking KVM's own offsets.
  std::span<uint8_t> run_bytes() const { return {run_.data(), run_.size()}; }

  enum class RunResult { kExit, kInterrupted };
  // One KVM_RUN. kInterrupted (EINTR/EAGAIN) means a signal or immediate_exit
  // asked this thread to look at its requests; anything else throws.
  RunResult run();

  kvm_regs regs() const;
  void set_regs(const kvm_regs& regs);
  kvm_sregs sregs() const;
  void set_sregs(const kvm_sregs& sregs);
  void set_cpuid(std::span<const uint8_t> kvm_cpuid2_buffer);
  // KVM_SET_MSRS for all of `msrs`; throws naming the first MSR KVM refused.
  void set_msrs(std::span<const kvm_msr_entry> msrs);
  void set_fpu(const kvm_fpu& fpu);
  kvm_lapic_state lapic() const;
  void set_lapic(const kvm_lapic_state& lapic);
  // KVM_SET_MP_STATE: with the in-kernel irqchip, vCPUs other than 0 start
  // waiting for INIT/SIPI; KVM_MP_STATE_RUNNABLE starts them at their registers.
  void set_mp_state(uint32_t state);
  // KVM_GET_TSC_KHZ: the guest's TSC frequency.
  uint32_t tsc_khz() const;
  // The same, or nullopt where the kernel cannot say (no KVM_CAP_GET_TSC_KHZ,
  // an unstable host TSC), for callers with a fallback.
  std::optional<uint32_t> tsc_khz_if_known() const;

 private:
  uint32_t index_;
  UniqueFd fd_;
  MmapRegion run_;
};

}  // namespace kvmm

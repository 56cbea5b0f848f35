#include "vmm/cpu/x86_defaults.h"

#include <cstdint>
#include <cstring>

namespace kvmm {

namespace {

// MSR numbers (Intel SDM vol. 4).
constexpr uint32_t kMsrSysenterCs = 0x174;
constexpr uint32_t kMsrSysenterEsp = 0x175;
constexpr uint32_t kMsrSysenterEip = 0x176;
constexpr uint32_t kMsrMiscEnable = 0x1a0;
constexpr uint32_t kMsrMtrrDefType = 0x2ff;
constexpr uint32_t kMsrStar = 0xc0000081;
constexpr uint32_t kMsrLstar = 0xc0000082;
constexpr uint32_t kMsrCstar = 0xc0000083;
constexpr uint32_t kMsrSyscallMask = 0xc0000084;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;

constexpr uint64_t kMiscEnableFastStrings = 1;
constexpr uint64_t kMtrrEnable = 1 << 11;
constexpr uint64_t kMtrrTypeWriteBack = 6;

// Local APIC register offsets and LVT delivery modes (SDM vol. 3A §11.5.1).
constexpr size_t kApicLvtLint0 = 0x350;
constexpr size_t kApicLvtLint1 = 0x360;
constexpr uint32_t kDeliveryModeMask = 0x700;
constexpr uint32_t kDeliveryModeExtInt = 0x700;
constexpr uint32_t kDeliveryModeNmi = 0x400;

void set_delivery_mode(kvm_lapic_state& lapic, size_t reg, uint32_t mode) {
  uint32_t value;
  std::memcpy(&value, lapic.regs + reg, sizeof value);
  value = (value & ~kDeliveryModeMask) | mode;
  std::memcpy(lapic.regs + reg, &value, sizeof value);
}

}  // namespace

std::vector<kvm_msr_entry> boot_msrs() {
  auto msr = [](uint32_t index, uint64_t data) {
    kvm_msr_entry e{};
    e.index = index;
    e.data = data;
    return e;
  };
  return {
      msr(kMsrSysenterCs, 0),    msr(kMsrSysenterEsp, 0),  msr(kMsrSysenterEip, 0),
      msr(kMsrStar, 0),          msr(kMsrLstar, 0),        msr(kMsrCstar, 0),
      msr(kMsrSyscallMask, 0),   msr(kMsrKernelGsBase, 0),
      msr(kMsrMiscEnable, kMiscEnableFastStrings),
      msr(kMsrMtrrDefType, kMtrrEnable | kMtrrTypeWriteBack),
  };
}

kvm_fpu boot_fpu() {
  kvm_fpu fpu{};
  fpu.fcw = 0x37f;     // All x87 exceptions masked, 64-bit precision.
  fpu.mxcsr = 0x1f80;  // All SSE exceptions masked.
  return fpu;
}

void set_lint_pins(kvm_lapic_state& lapic) {
  set_delivery_mode(lapic, kApicLvtLint0, kDeliveryModeExtInt);
  set_delivery_mode(lapic, kApicLvtLint1, kDeliveryModeNmi);
}

}  // namespace kvmm

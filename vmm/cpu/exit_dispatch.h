#pragma once
// What the vCPU loop does with one exit that reached user space: PIO and
// MMIO go to their bus, hlt and the failure exits stop the VM. Separate from
// Vcpu so it runs without KVM: tests/bench/exit_dispatch_bench feeds it
// recorded exits in a plain kvm_run to count kvmm's own instructions per exit.
#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <string>

#include "base/bus/bus.h"
#include "vmm/cpu/exit_log.h"
#include "vmm/cpu/stop_controller.h"

namespace kvmm {

// Where a vCPU's exits go.
struct ExitWiring {
  const Bus* pio;
  const Bus* mmio;
  StopController* stop;
  ExitLog* exit_log;  // May be null.
};

class ExitDispatcher {
 public:
  enum class Action {
    kContinue,  // Enter the guest again.
    kStop,      // The VM stops; the outcome is already requested.
    kCrash,     // The VM stops with kExitGuestCrashed; see crash_message().
  };

  ExitDispatcher(uint32_t vcpu_index, ExitWiring wiring) : index_(vcpu_index), wiring_(wiring) {}

  // `run` is the kvm_run area, `run_bytes` the whole mapping it lies in
  // (for bounds-checking KVM's data offsets).
  Action dispatch(kvm_run& run, std::span<uint8_t> run_bytes);

  // Why the last kCrash: one line, without registers (Vcpu adds them).
  const std::string& crash_message() const { return crash_message_; }

  const ExitWiring& wiring() const { return wiring_; }

 private:
  Action handle_pio(kvm_run& run, std::span<uint8_t> run_bytes);
  Action handle_mmio(kvm_run& run);
  Action crash(std::string what);
  void log(const std::string& line);

  uint32_t index_;
  ExitWiring wiring_;
  std::string crash_message_;
};

}  // namespace kvmm

#pragma once
// What the API can ask of a VM: the routes (api_routes.h) call this, the
// machine implements it (machine_control.h), the unit tests fake it.
//
// Threads: called on the API thread only.
#include <string>
#include <vector>

#include "vmm/cpu/vcpu_stats.h"
#include "vmm/machine/vm_config.h"
#include "vmm/machine/vm_state.h"

namespace kvmm {

struct VmStatus {
  std::string name;
  int pid = 0;
  VmState state = VmState::kStarting;
  double uptime_seconds = 0;
  std::string api_socket;
  const VmConfig* config = nullptr;  // Never null from a VmControl.
  std::vector<VcpuThreadInfo> vcpus;
};

class VmControl {
 public:
  virtual ~VmControl() = default;
  virtual VmStatus status() const = 0;
  // Live per-vCPU statistics; kvmm's own counters only when `counting()`.
  virtual std::vector<VcpuStats> counters() const = 0;
  virtual bool counting() const = 0;
  // Each throws Error with a message for the client when the VM's state
  // forbids it (pausing a paused VM, anything while it stops).
  virtual void pause() = 0;
  virtual void resume() = 0;
  // The ACPI power button: the guest decides how to shut down.
  virtual void shutdown() = 0;
  // Ends the VM now.
  virtual void power_off() = 0;
};

}  // namespace kvmm

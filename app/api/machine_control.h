#pragma once
// VmControl over a Machine: what the API's handlers reach.
#include <string>

#include "app/api/vm_control.h"
#include "vmm/machine/machine.h"

namespace kvmm {

class MachineControl : public VmControl {
 public:
  MachineControl(Machine& machine, std::string name, std::string api_socket)
      : machine_(machine), name_(std::move(name)), api_socket_(std::move(api_socket)) {}

  VmStatus status() const override;
  std::vector<VcpuStats> counters() const override { return machine_.live_stats(); }
  bool counting() const override { return machine_.config().stats.has_value(); }
  void pause() override { machine_.pause(); }
  void resume() override { machine_.resume(); }
  void shutdown() override;
  void power_off() override { machine_.power_off("powered off through the API (vm.power-off)"); }

 private:
  Machine& machine_;
  const std::string name_;
  const std::string api_socket_;
};

}  // namespace kvmm

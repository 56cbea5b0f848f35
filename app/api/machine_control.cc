#include "app/api/machine_control.h"

#include <unistd.h>

#include "base/util/error.h"

namespace kvmm {

VmStatus MachineControl::status() const {
  VmStatus status;
  status.name = name_;
  status.pid = static_cast<int>(::getpid());
  status.state = machine_.state();
  status.uptime_seconds = machine_.uptime_seconds();
  status.api_socket = api_socket_;
  status.config = &machine_.config();
  status.vcpus = machine_.vcpu_threads();
  return status;
}

void MachineControl::shutdown() {
  if (machine_.config().flat_image) {
    throw Error("a flat guest has no power button: use vm.power-off (kvmm destroy)");
  }
  machine_.press_power_button();
}

}  // namespace kvmm

#pragma once
// The debug-exit port: a guest writes a status byte and the run ends with
// that status as kvmm's exit code. Tests and benchmarks end guests this way.
#include <cstdint>
#include <functional>

#include "base/bus/bus_device.h"

namespace kvmm {

class DebugExit : public BusDevice {
 public:
  // The port QEMU's isa-debug-exit uses by default, so guests carry over.
  static constexpr uint16_t kPort = 0x501;
  using ExitHandler = std::function<void(uint8_t status)>;

  explicit DebugExit(ExitHandler on_exit) : on_exit_(std::move(on_exit)) {}

  void read(uint64_t, std::span<uint8_t>) override {}  // Reads as zero.
  void write(uint64_t, std::span<const uint8_t> data) override {
    if (!data.empty()) on_exit_(data[0]);  // Guest-controlled; any byte is a valid status.
  }

 private:
  ExitHandler on_exit_;
};

}  // namespace kvmm

#pragma once
// QEMU's isa-debug-exit device, for guests built against it (kvm-unit-tests
// runs with `-device isa-debug-exit,iobase=0xf4,iosize=4`). A write of value
// v ends the run with status (v << 1) | 1, so a guest can never report 0:
// kvm-unit-tests writes 0 for "pass" (status 1) and 1 for "fail" (status 3),
// and its runner maps those back. The status is an int, but a process exit
// status is only its low 8 bits, so a shell sees it modulo 256 (a write of
// 0x80 reads as 1 there).
//
// kvmm's own DebugExit (port 0x501) is different: the byte written is the
// status. Both can be present, at different ports.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "base/bus/bus_device.h"

namespace kvmm {

class IsaDebugExit : public BusDevice {
 public:
  // Where kvm-unit-tests expects it, and the width it writes (outl).
  static constexpr uint16_t kKvmUnitTestsPort = 0xf4;
  static constexpr uint64_t kKvmUnitTestsSize = 4;

  enum class Width : uint8_t { kByte = 1, kWord = 2, kDword = 4 };
  using ExitHandler = std::function<void(int status)>;

  // The bus range is `width` bytes long: QEMU's iosize.
  IsaDebugExit(Width width, ExitHandler on_exit) : width_(width), on_exit_(std::move(on_exit)) {}

  uint64_t size() const { return static_cast<uint64_t>(width_); }

  // The status a write of `value` asks for.
  static int status_for(uint32_t value) { return static_cast<int>((value << 1) | 1); }

  void read(uint64_t, std::span<uint8_t>) override {}  // Reads as zero.
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    // The bus keeps an access inside the range; checked again because a
    // device never trusts its caller with its own bounds.
    if (data.empty() || offset > size() || data.size() > size() - offset) return;
    // Guest-controlled; every value is a valid request. The value is the
    // access itself, little-endian, whatever byte of the range it starts at
    // (QEMU ignores the offset too).
    uint32_t value = 0;
    for (size_t i = 0; i < data.size(); ++i) value |= static_cast<uint32_t>(data[i]) << (8 * i);
    on_exit_(status_for(value));
  }

 private:
  Width width_;
  ExitHandler on_exit_;
};

}  // namespace kvmm

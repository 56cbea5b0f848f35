#pragma once
// Port ranges where a PC has hardware kvmm does not emulate and that guests
// probe as a matter of course (Linux: POST code port 0x80 for I/O delays,
// COM2-4, LPT1). They read as all ones, like an empty bus, without the
// once-per-address report unhandled ports get, so
// the console stays clean.
#include <cstdint>
#include <cstring>

#include "base/bus/bus_device.h"

namespace kvmm {

class AbsentPorts : public BusDevice {
 public:
  void read(uint64_t, std::span<uint8_t> data) override {
    std::memset(data.data(), 0xff, data.size());
  }
  void write(uint64_t, std::span<const uint8_t>) override {}
};

}  // namespace kvmm

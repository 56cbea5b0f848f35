#include "devices/power/generic_event_device.h"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <thread>
#include <vector>

using kvmm::GenericEventDevice;

namespace {

// The interrupt line as the device drives it: every level it was set to.
struct FakeLine {
  std::vector<bool> levels;
  GenericEventDevice::InterruptLine callback() {
    return [this](bool asserted) { levels.push_back(asserted); };
  }
};

uint32_t read_register(GenericEventDevice& device) {
  std::array<uint8_t, 4> data{};
  device.read(0, data);
  return static_cast<uint32_t>(data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24);
}

}  // namespace

TEST_CASE("GED: a power button press is latched and raises the interrupt until read") {
  FakeLine line;
  GenericEventDevice device(line.callback());
  CHECK(read_register(device) == 0);  // Nothing pending: reads 0, line untouched.
  CHECK(line.levels.empty());

  device.notify(GenericEventDevice::kPowerButtonEvent);
  CHECK(line.levels == std::vector<bool>{true});
  CHECK(read_register(device) == GenericEventDevice::kPowerButtonEvent);
  CHECK(line.levels == std::vector<bool>{true, false});
  // Read to clear: the event is taken once.
  CHECK(read_register(device) == 0);
  CHECK(line.levels == std::vector<bool>{true, false});
}

TEST_CASE("GED: presses before the read merge into one event and one interrupt") {
  FakeLine line;
  GenericEventDevice device(line.callback());
  device.notify(GenericEventDevice::kPowerButtonEvent);
  device.notify(GenericEventDevice::kPowerButtonEvent);
  device.notify(1u << 3);
  CHECK(line.levels == std::vector<bool>{true});  // Level: raised once, stays up.
  CHECK(read_register(device) == (GenericEventDevice::kPowerButtonEvent | 1u << 3));
  CHECK(line.levels == std::vector<bool>{true, false});
  device.notify(0);  // No event: no interrupt.
  CHECK(line.levels == std::vector<bool>{true, false});
  // A press after the read raises it again.
  device.notify(GenericEventDevice::kPowerButtonEvent);
  CHECK(line.levels == std::vector<bool>{true, false, true});
}

TEST_CASE("GED: other widths, offsets and writes neither see nor lose the events") {
  FakeLine line;
  GenericEventDevice device(line.callback());
  device.notify(GenericEventDevice::kPowerButtonEvent);
  std::array<uint8_t, 1> byte{0xaa};
  device.read(0, byte);
  CHECK(byte[0] == 0xaa);  // Untouched here; the bus zero-fills it first.
  std::array<uint8_t, 2> word{};
  device.read(0, word);
  std::array<uint8_t, 4> dword{};
  device.read(4, dword);  // Past the register (the bus would refuse it).
  CHECK(dword == std::array<uint8_t, 4>{});
  const std::array<uint8_t, 4> zeros{};
  device.write(0, zeros);  // Read-only: a write does not clear.
  CHECK(line.levels == std::vector<bool>{true});
  CHECK(read_register(device) == GenericEventDevice::kPowerButtonEvent);
  CHECK(line.levels == std::vector<bool>{true, false});
}

TEST_CASE("GED: presses from other threads while the guest reads lose no event", "[threads]") {
  FakeLine line;
  GenericEventDevice device(line.callback());
  constexpr int kPresses = 1000;
  std::thread presser([&device] {
    for (int i = 0; i < kPresses; ++i) device.notify(GenericEventDevice::kPowerButtonEvent);
  });
  int taken = 0;
  for (int i = 0; i < kPresses; ++i) taken += read_register(device) != 0;
  presser.join();
  taken += read_register(device) != 0;
  CHECK(taken >= 1);
  // Every raise was followed by exactly one lower, in order, and the line
  // ends low: each read that took events lowered it.
  REQUIRE(line.levels.size() == 2 * static_cast<size_t>(taken));
  for (size_t i = 0; i < line.levels.size(); ++i) CHECK(line.levels[i] == (i % 2 == 0));
}

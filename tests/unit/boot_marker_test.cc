#include "devices/legacy/boot_marker.h"

#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <vector>

#include "base/bus/bus.h"

using namespace kvmm;

namespace {

struct Marks {
  Bus pio{Bus::Kind::kPio};
  std::vector<BootMarkerEvent> events;
  Marks() {
    pio.insert(std::make_shared<BootMarker>([this](const BootMarkerEvent& e) { events.push_back(e); }),
               BootMarker::kPort, BootMarker::kSize, "boot marker");
  }
  // What /dev/port does with a buffer: one byte to each next port.
  void dev_port_write(std::vector<uint8_t> bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      const std::array<uint8_t, 1> b{bytes[i]};
      REQUIRE(pio.write(BootMarker::kPort + i, b));
    }
  }
};

}  // namespace

TEST_CASE("Boot marker: a phase byte marks at once") {
  Marks m;
  m.dev_port_write({2});
  REQUIRE(m.events.size() == 1);
  CHECK(m.events[0].phase == 2);
  CHECK_FALSE(m.events[0].guest_clock_ms.has_value());
}

TEST_CASE("Boot marker: the guest's clock follows its phase, little-endian, complete at the last byte") {
  Marks m;
  m.dev_port_write({1, 0x39, 0x30, 0x01, 0x00});  // 0x13039 = 77881 ms.
  REQUIRE(m.events.size() == 2);
  CHECK(m.events[0].phase == 1);
  CHECK_FALSE(m.events[0].guest_clock_ms.has_value());
  CHECK(m.events[1].phase == 1);
  CHECK(m.events[1].guest_clock_ms == 77881u);
  // Only the last clock byte completes it: a partial clock marks nothing.
  m.dev_port_write({3, 0xff, 0xff});
  CHECK(m.events.size() == 3);
  // A 32-bit write across the clock bytes reaches each in order.
  const std::array<uint8_t, 4> clock{0x10, 0, 0, 0};
  REQUIRE(m.pio.write(BootMarker::kPort + 1, clock));
  REQUIRE(m.events.size() == 4);
  CHECK(m.events[3].phase == 3);
  CHECK(m.events[3].guest_clock_ms == 16u);
}

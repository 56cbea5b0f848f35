#include "base/bus/bus.h"

#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <vector>

#include "base/util/error.h"

using kvmm::Bus;

namespace {

// Records every access it receives.
class RecordingDevice : public kvmm::BusDevice {
 public:
  struct Access {
    bool write;
    uint64_t offset;
    size_t size;
  };
  void read(uint64_t offset, std::span<uint8_t> data) override {
    accesses.push_back({false, offset, data.size()});
    seen_zeroed = std::all_of(data.begin(), data.end(), [](uint8_t b) { return b == 0; });
    if (!data.empty()) data[0] = 0x5a;
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    accesses.push_back({true, offset, data.size()});
  }
  std::vector<Access> accesses;
  bool seen_zeroed = false;
};

}  // namespace

TEST_CASE("Bus dispatches with offsets relative to the device base") {
  Bus bus(Bus::Kind::kPio);
  auto device = std::make_shared<RecordingDevice>();
  bus.insert(device, 0x3f8, 8, "uart");
  std::array<uint8_t, 1> byte{0x41};
  CHECK(bus.write(0x3fd, byte));
  REQUIRE(device->accesses.size() == 1);
  CHECK(device->accesses[0].write);
  CHECK(device->accesses[0].offset == 5);
}

TEST_CASE("Bus requires the whole access to fit the device range") {
  Bus bus(Bus::Kind::kMmio);
  auto device = std::make_shared<RecordingDevice>();
  bus.insert(device, 0x1000, 0x10, "dev");
  std::array<uint8_t, 4> word{};
  CHECK(bus.read(0x100c, word));   // Last four bytes: fits.
  CHECK_FALSE(bus.read(0x100d, word));  // Starts inside, ends outside.
  CHECK_FALSE(bus.write(0xffe, word));  // Starts before the base.
  CHECK(device->accesses.size() == 1);
}

TEST_CASE("Bus zero-fills reads before dispatch and returns all ones for no device") {
  Bus bus(Bus::Kind::kPio);
  auto device = std::make_shared<RecordingDevice>();
  bus.insert(device, 0x100, 4, "dev");
  std::array<uint8_t, 4> data{0xde, 0xad, 0xbe, 0xef};
  CHECK(bus.read(0x100, data));
  CHECK(device->seen_zeroed);
  CHECK(data == std::array<uint8_t, 4>{0x5a, 0, 0, 0});
  CHECK_FALSE(bus.read(0x200, data));
  CHECK(data == std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff});
}

TEST_CASE("Bus rejects zero-length, overlapping and wrapping ranges") {
  Bus bus(Bus::Kind::kMmio);
  auto device = std::make_shared<RecordingDevice>();
  bus.insert(device, 0x1000, 0x100, "a");
  CHECK_THROWS_AS(bus.insert(device, 0x2000, 0, "zero"), kvmm::Error);
  CHECK_THROWS_AS(bus.insert(device, 0x10ff, 1, "tail"), kvmm::Error);
  CHECK_THROWS_AS(bus.insert(device, 0xf00, 0x101, "head"), kvmm::Error);
  CHECK_THROWS_AS(bus.insert(device, 0x800, 0x1000, "around"), kvmm::Error);
  CHECK_THROWS_AS(bus.insert(device, UINT64_MAX - 1, 4, "wrap"), kvmm::Error);
  bus.insert(device, 0x1100, 0x100, "adjacent");  // Touching is fine.
  std::array<uint8_t, 1> byte{};
  CHECK(bus.read(0x1100, byte));
  CHECK(bus.read(0x10ff, byte));
}

TEST_CASE("Bus handles accesses at the top of the address space") {
  Bus bus(Bus::Kind::kMmio);
  auto device = std::make_shared<RecordingDevice>();
  bus.insert(device, UINT64_MAX - 0x10, 0x10, "top");  // Ends at 2^64 - 1.
  std::array<uint8_t, 8> data{};
  CHECK(bus.read(UINT64_MAX - 8, data));  // The last eight bytes.
  CHECK_FALSE(bus.read(UINT64_MAX - 7, data));  // One byte past the end.
  CHECK_FALSE(bus.read(UINT64_MAX - 3, data));  // Would run past 2^64.
}

#include "devices/debug/isa_debug_exit.h"

#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <vector>

#include "base/bus/bus.h"

using kvmm::Bus;
using kvmm::IsaDebugExit;

TEST_CASE("isa-debug-exit turns kvm-unit-tests' pass and fail into QEMU's statuses") {
  std::vector<int> statuses;
  auto device = std::make_shared<IsaDebugExit>(
      IsaDebugExit::Width::kDword, [&statuses](int status) { statuses.push_back(status); });
  Bus pio(Bus::Kind::kPio);
  pio.insert(device, IsaDebugExit::kKvmUnitTestsPort, device->size(), "isa-debug-exit");
  CHECK(device->size() == IsaDebugExit::kKvmUnitTestsSize);

  const std::array<uint8_t, 4> pass{0, 0, 0, 0};  // outl(0, 0xf4)
  const std::array<uint8_t, 4> fail{1, 0, 0, 0};  // outl(1, 0xf4)
  CHECK(pio.write(IsaDebugExit::kKvmUnitTestsPort, pass));
  CHECK(pio.write(IsaDebugExit::kKvmUnitTestsPort, fail));
  CHECK(statuses == std::vector<int>{1, 3});
}

TEST_CASE("isa-debug-exit takes the value at the access width, little-endian") {
  int status = -1;
  IsaDebugExit device(IsaDebugExit::Width::kDword, [&status](int value) { status = value; });
  const std::array<uint8_t, 4> dword{0x34, 0x12, 0, 0};
  device.write(0, dword);
  CHECK(status == ((0x1234 << 1) | 1));
  const std::array<uint8_t, 1> byte{0x80};  // outb: realmode.flat's exit.
  device.write(0, byte);
  CHECK(status == 0x101);  // A shell sees 0x101 % 256 = 1.
  const std::array<uint8_t, 2> word{0xff, 0x7f};
  device.write(2, word);
  CHECK(status == 0xffff);
}

TEST_CASE("isa-debug-exit reads as zero and ignores accesses past its width") {
  int calls = 0;
  IsaDebugExit device(IsaDebugExit::Width::kWord, [&calls](int) { ++calls; });
  CHECK(device.size() == 2);
  std::array<uint8_t, 2> read{};
  device.read(0, read);
  CHECK(read == std::array<uint8_t, 2>{0, 0});
  const std::array<uint8_t, 4> too_wide{1, 2, 3, 4};
  device.write(0, too_wide);
  const std::array<uint8_t, 2> past_end{1, 2};
  device.write(1, past_end);
  CHECK(calls == 0);
}

TEST_CASE("isa-debug-exit's status wraps like QEMU's for the largest values") {
  CHECK(IsaDebugExit::status_for(0x7fffffff) == -1);  // (v << 1) | 1 in 32 bits.
  CHECK((IsaDebugExit::status_for(0x7f) & 0xff) == 0xff);
}

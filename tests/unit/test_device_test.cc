#include "devices/testdev/test_device.h"

#include <catch2/catch.hpp>

#include <array>

using kvmm::TestDevice;

TEST_CASE("Test device reads back what was written, at any width and offset") {
  TestDevice device;
  const std::array<uint8_t, 4> word{0x78, 0x56, 0x34, 0x12};
  device.write(4, word);
  std::array<uint8_t, 1> byte{};
  device.read(7, byte);
  CHECK(byte[0] == 0x12);
  std::array<uint8_t, 8> quad{};
  device.read(0, quad);
  CHECK(quad == std::array<uint8_t, 8>{0, 0, 0, 0, 0x78, 0x56, 0x34, 0x12});
}

TEST_CASE("Test device ignores accesses past its 16 bytes") {
  TestDevice device;
  std::array<uint8_t, 4> data{1, 2, 3, 4};
  device.write(14, data);  // Would run to byte 18.
  std::array<uint8_t, 2> tail{0xaa, 0xaa};
  device.read(14, tail);
  CHECK(tail == std::array<uint8_t, 2>{0, 0});
}

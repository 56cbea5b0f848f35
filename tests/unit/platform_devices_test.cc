#include "vmm/machine/platform_devices.h"

#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "devices/debug/debug_exit.h"
#include "vmm/arch/x86/layout.h"

using namespace kvmm;

TEST_CASE("Platform devices: COM1, debug exit and the test device for every guest") {
  Bus pio(Bus::Kind::kPio);
  Bus mmio(Bus::Kind::kMmio);
  std::string output;
  int status = -1;
  PlatformWiring wiring;
  wiring.serial_output = [&output](uint8_t byte) { output += static_cast<char>(byte); };
  wiring.debug_exit = [&status](uint8_t value) { status = value; };
  const PlatformDevices devices = add_platform_devices(pio, mmio, std::move(wiring));
  REQUIRE(devices.serial != nullptr);

  const std::array<uint8_t, 1> letter{'k'};
  CHECK(pio.write(kCom1Port, letter));
  CHECK(output == "k");
  const std::array<uint8_t, 1> code{7};
  CHECK(pio.write(DebugExit::kPort, code));
  CHECK(status == 7);

  // The test device's ports and MMIO window are the same 16 bytes.
  const std::array<uint8_t, 4> word{1, 2, 3, 4};
  CHECK(mmio.write(kTestDeviceMmioAddress.value + 4, word));
  std::array<uint8_t, 4> read{};
  CHECK(pio.read(TestDevice::kPort + 4, read));
  CHECK(read == word);

  // No Linux devices: the i8042 and absent legacy ports stay unclaimed.
  std::array<uint8_t, 1> byte{};
  CHECK_FALSE(pio.read(0x64, byte));
  CHECK_FALSE(pio.read(0x70, byte));
}

TEST_CASE("Platform devices: a Linux guest also gets power, reset, marker and absent ports") {
  Bus pio(Bus::Kind::kPio);
  Bus mmio(Bus::Kind::kMmio);
  int resets = 0;
  int markers = 0;
  PlatformWiring wiring;
  wiring.serial_output = [](uint8_t) {};
  wiring.debug_exit = [](uint8_t) {};
  wiring.linux_devices.emplace();
  wiring.linux_devices->power_off = [] {};
  wiring.linux_devices->reset = [&resets] { ++resets; };
  wiring.linux_devices->boot_marker = [&markers] { ++markers; };
  add_platform_devices(pio, mmio, std::move(wiring));

  const std::array<uint8_t, 1> pulse{0xfe};
  CHECK(pio.write(0x64, pulse));  // i8042: pulse the reset line.
  CHECK(resets == 1);
  std::array<uint8_t, 1> byte{};
  CHECK(pio.read(0x70, byte));  // CMOS: absent, but claimed.
  CHECK(byte[0] == 0xff);
}

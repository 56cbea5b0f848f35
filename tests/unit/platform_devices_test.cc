#include "vmm/machine/platform_devices.h"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "devices/debug/debug_exit.h"
#include "devices/firmware/fw_cfg.h"
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

  // No Linux devices: the i8042, PCI and absent legacy ports stay unclaimed.
  std::array<uint8_t, 1> byte{};
  CHECK_FALSE(pio.read(0x64, byte));
  CHECK_FALSE(pio.read(0x70, byte));
  CHECK_FALSE(pio.read(0xcfc, byte));
}

TEST_CASE("Platform devices: a Linux guest also gets power, reset, marker, PCI and absent ports") {
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
  wiring.linux_devices->boot_marker = [&markers](const BootMarkerEvent&) { ++markers; };
  add_platform_devices(pio, mmio, std::move(wiring));

  const std::array<uint8_t, 1> pulse{0xfe};
  CHECK(pio.write(0x64, pulse));  // i8042: pulse the reset line.
  CHECK(resets == 1);
  const std::array<uint8_t, 1> phase{1};
  CHECK(pio.write(BootMarker::kPort, phase));
  CHECK(markers == 1);
  std::array<uint8_t, 1> byte{};
  CHECK(pio.read(0x70, byte));  // CMOS: absent, but claimed.
  CHECK(byte[0] == 0xff);
  // PCI configuration mechanism #1 with a host bridge at 00:00.0.
  const std::array<uint8_t, 4> select{0x08, 0, 0, 0x80};  // Class code register.
  CHECK(pio.write(0xcf8, select));
  std::array<uint8_t, 4> class_code{};
  CHECK(pio.read(0xcfc, class_code));
  CHECK(class_code == std::array<uint8_t, 4>{0, 0, 0, 0x06});
}

TEST_CASE("Platform devices: a Linux guest's power button goes through the GED on MMIO") {
  Bus pio(Bus::Kind::kPio);
  Bus mmio(Bus::Kind::kMmio);
  std::vector<bool> levels;
  PlatformWiring wiring;
  wiring.serial_output = [](uint8_t) {};
  wiring.linux_devices.emplace();
  wiring.linux_devices->power_off = [] {};
  wiring.linux_devices->reset = [] {};
  wiring.linux_devices->boot_marker = [](const BootMarkerEvent&) {};
  wiring.linux_devices->event_interrupt = [&levels](bool asserted) { levels.push_back(asserted); };
  const PlatformDevices devices = add_platform_devices(pio, mmio, std::move(wiring));
  REQUIRE(devices.events != nullptr);

  devices.events->notify(GenericEventDevice::kPowerButtonEvent);
  CHECK(levels == std::vector<bool>{true});
  std::array<uint8_t, 4> value{};
  CHECK(mmio.read(kGedMmioAddress.value, value));  // What the DSDT's _EVT reads.
  CHECK(value == std::array<uint8_t, 4>{1, 0, 0, 0});
  CHECK(levels == std::vector<bool>{true, false});

  // A flat guest has no ACPI and so no event device.
  Bus flat_pio(Bus::Kind::kPio);
  Bus flat_mmio(Bus::Kind::kMmio);
  PlatformWiring flat;
  flat.serial_output = [](uint8_t) {};
  CHECK(add_platform_devices(flat_pio, flat_mmio, std::move(flat)).events == nullptr);
  CHECK_FALSE(flat_mmio.read(kGedMmioAddress.value, value));
}

TEST_CASE("Platform devices: a Linux guest has no debug exit or test device unless asked") {
  CHECK(debug_devices_for(GuestKind::kFlat, {}) ==
        DebugDevices{.debug_exit = true, .test_device = true, .isa_debug_exit = {}, .pc_testdev = false});
  CHECK(debug_devices_for(GuestKind::kLinux, {}) == DebugDevices{});
  CHECK(debug_devices_for(GuestKind::kLinux, {.debug_exit = true, .test_device = false,
                                             .isa_debug_exit = {}, .pc_testdev = false}) ==
        DebugDevices{.debug_exit = true, .test_device = false, .isa_debug_exit = {}, .pc_testdev = false});

  auto buses_for = [](DebugDevices asked, int& status) {
    auto pio = std::make_unique<Bus>(Bus::Kind::kPio);
    auto mmio = std::make_unique<Bus>(Bus::Kind::kMmio);
    PlatformWiring wiring;
    wiring.serial_output = [](uint8_t) {};
    wiring.debug_exit = [&status](uint8_t value) { status = value; };
    wiring.debug = debug_devices_for(GuestKind::kLinux, asked);
    wiring.linux_devices.emplace();
    wiring.linux_devices->power_off = [] {};
    wiring.linux_devices->reset = [] {};
    wiring.linux_devices->boot_marker = [](const BootMarkerEvent&) {};
    add_platform_devices(*pio, *mmio, std::move(wiring));
    return std::make_pair(std::move(pio), std::move(mmio));
  };

  // By default: the guest's root writes the debug-exit port and nothing happens.
  int status = -1;
  auto [pio, mmio] = buses_for({}, status);
  const std::array<uint8_t, 1> code{7};
  CHECK_FALSE(pio->write(DebugExit::kPort, code));
  CHECK(status == -1);
  std::array<uint8_t, 1> byte{};
  CHECK_FALSE(pio->read(TestDevice::kPort, byte));
  CHECK_FALSE(mmio->read(kTestDeviceMmioAddress.value, byte));
  CHECK(pio->write(0x64, std::array<uint8_t, 1>{0xfe}));  // The Linux devices are there.

  // --device debug-exit, --device testdev.
  auto [asked_pio, asked_mmio] = buses_for(
      {.debug_exit = true, .test_device = true, .isa_debug_exit = {}, .pc_testdev = false}, status);
  CHECK(asked_pio->write(DebugExit::kPort, code));
  CHECK(status == 7);
  CHECK(asked_pio->read(TestDevice::kPort, byte));
  CHECK(asked_mmio->read(kTestDeviceMmioAddress.value, byte));
}

TEST_CASE("Platform devices: QEMU's isa-debug-exit, pc-testdev and a multiboot guest's firmware") {
  int status = -1;
  std::vector<std::pair<unsigned, bool>> lines;
  auto pio = std::make_unique<Bus>(Bus::Kind::kPio);
  auto mmio = std::make_unique<Bus>(Bus::Kind::kMmio);
  PlatformWiring wiring;
  wiring.serial_output = [](uint8_t) {};
  wiring.debug_exit = [&status](uint8_t value) { status = value; };
  DebugDevices asked;
  asked.isa_debug_exit = IsaDebugExitPorts{.iobase = 0xf4, .iosize = 4};
  asked.pc_testdev = true;
  wiring.debug = debug_devices_for(GuestKind::kLinux, asked);
  wiring.pc_testdev.flush_page = [](uint64_t) {};
  wiring.pc_testdev.set_irq = [&lines](unsigned line, bool level) { lines.emplace_back(line, level); };
  std::vector<uint8_t> sleeps;
  wiring.firmware = PlatformWiring::Firmware{
      .cpus = 3,
      .ram_bytes = 256 << 20,
      .rtc_interrupt = [&lines](bool level) { lines.emplace_back(CmosRtc::kIrq, level); },
      .sleep = [&sleeps](uint8_t type) { sleeps.push_back(type); }};
  wiring.linux_devices.emplace();  // A multiboot guest gets these too; not the absent 0x70.
  wiring.linux_devices->power_off = [] {};
  wiring.linux_devices->reset = [] {};
  wiring.linux_devices->boot_marker = [](const BootMarkerEvent&) {};
  wiring.linux_devices->event_interrupt = [](bool) {};
  const PlatformDevices devices = add_platform_devices(*pio, *mmio, std::move(wiring));
  REQUIRE(devices.rtc != nullptr);
  REQUIRE(devices.pm1 != nullptr);

  // kvm-unit-tests' exit(0) and exit(1): statuses 1 and 3.
  CHECK(pio->write(0xf4, std::array<uint8_t, 4>{0, 0, 0, 0}));
  CHECK(status == 1);
  CHECK(pio->write(0xf4, std::array<uint8_t, 4>{1, 0, 0, 0}));
  CHECK(status == 3);
  CHECK_FALSE(pio->write(DebugExit::kPort, std::array<uint8_t, 1>{7}));  // Not asked for.

  CHECK(pio->write(PcTestdev::kIrqPort + 5, std::array<uint8_t, 1>{1}));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == std::pair<unsigned, bool>{5, true});

  // fw_cfg: the CPU count the suite's BSP waits for.
  CHECK(pio->write(FwCfg::kPort, std::array<uint8_t, 2>{FwCfg::kNbCpusKey, 0}));
  std::array<uint8_t, 1> byte{};
  CHECK(pio->read(FwCfg::kPort + 1, byte));
  CHECK(byte[0] == 3);
  std::array<uint8_t, 4> timer{};
  CHECK(pio->read(kPmTimerPort, timer));
  CHECK(timer[3] == 0);  // 24 bits.

  // The CMOS RTC: register D reads VRT.
  CHECK(pio->write(CmosRtc::kPort, std::array<uint8_t, 1>{CmosRtc::kRegisterD}));
  CHECK(pio->read(CmosRtc::kPort + 1, byte));
  CHECK(byte[0] == CmosRtc::kVrt);
  // PM1a: RTC_EN, then s3.c's sleep request; the RTC's alarm sets RTC_STS.
  CHECK(pio->write(kPm1EventPort + 2, std::array<uint8_t, 2>{0x00, 0x04}));
  CHECK(pio->write(kPm1ControlPort, std::array<uint8_t, 2>{0x00, 0x24}));
  CHECK(sleeps == std::vector<uint8_t>{1});
  CHECK_FALSE(devices.pm1->wake_pending());
  for (uint8_t alarm : {CmosRtc::kSecondsAlarm, CmosRtc::kMinutesAlarm, CmosRtc::kHoursAlarm}) {
    CHECK(pio->write(CmosRtc::kPort, std::array<uint8_t, 2>{alarm, CmosRtc::kAlarmDontCare}));
  }
  CHECK(pio->write(CmosRtc::kPort,
                   std::array<uint8_t, 2>{CmosRtc::kRegisterB, CmosRtc::kAie | CmosRtc::k24Hour}));
  const std::optional<uint64_t> next = devices.rtc->next_event_ns();
  REQUIRE(next.has_value());
  while (CmosRtc::realtime_ns() < *next) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  devices.rtc->poll();
  CHECK(devices.pm1->wake_pending());
  CHECK(lines.back() == std::pair<unsigned, bool>{CmosRtc::kIrq, true});
}

TEST_CASE("Platform devices: an isa-debug-exit on a taken port is refused with the fix") {
  Bus pio(Bus::Kind::kPio);
  Bus mmio(Bus::Kind::kMmio);
  PlatformWiring wiring;
  wiring.serial_output = [](uint8_t) {};
  wiring.debug_exit = [](uint8_t) {};
  DebugDevices asked;
  asked.isa_debug_exit = IsaDebugExitPorts{.iobase = 0x3fa, .iosize = 1};
  wiring.debug = debug_devices_for(GuestKind::kLinux, asked);
  CHECK_THROWS_WITH(add_platform_devices(pio, mmio, std::move(wiring)),
                    Catch::Contains("--device isa-debug-exit: device isa-debug-exit at 0x3fa overlaps "
                                    "device serial COM1") &&
                        Catch::Contains("choose another iobase"));
}

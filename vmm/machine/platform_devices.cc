#include "vmm/machine/platform_devices.h"

#include "base/util/error.h"
#include "devices/debug/debug_exit.h"
#include "devices/debug/isa_debug_exit.h"
#include "devices/firmware/fw_cfg.h"
#include "devices/legacy/absent_ports.h"
#include "devices/legacy/boot_marker.h"
#include "devices/legacy/i8042.h"
#include "devices/pci/pci_host_bridge.h"
#include "devices/power/acpi_power.h"
#include "devices/power/pm_timer.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/acpi/acpi_tables.h"

static_assert(kvmm::CmosRtc::kCentury == kvmm::kAcpiCenturyCmosIndex);

namespace kvmm {

namespace {

// Port ranges Linux probes on every boot where a PC may have hardware.
struct PortRange {
  uint16_t base;
  uint16_t length;
  const char* name;
};
constexpr PortRange kAbsentPorts[] = {
    {0x2e, 2, "Super I/O configuration"},
    {0x4e, 2, "Super I/O configuration (alternate)"},
    // The FADT says there is no CMOS RTC; Linux still writes the CMOS
    // shutdown byte when it reboots through the reset vector. (A multiboot
    // guest has the RTC here instead.)
    {0x70, 2, "CMOS RTC"},
    {0x80, 1, "POST code (I/O delay)"},
    {0x81, 0xf, "DMA page registers"},
    {0x278, 3, "LPT2"},
    {0x2e8, 8, "COM4"},
    {0x2f8, 8, "COM2"},
    {0x378, 3, "LPT1"},
    {0x3e8, 8, "COM3"},
    // Written by memtest86+ (floppy motor off, VGA cursor hidden).
    {0x3f0, 6, "floppy controller"},
    {0x3d4, 2, "VGA CRT controller"},
};

static_assert(GenericEventDevice::kPowerButtonEvent == kGedPowerButtonEvent);
static_assert(GenericEventDevice::kSize == kGedRegisterSize);

std::shared_ptr<GenericEventDevice> add_linux_devices(Bus& pio, Bus& mmio,
                                                      PlatformWiring::Linux wiring,
                                                      bool has_cmos_rtc) {
  AcpiPower::Handlers handlers;
  handlers.on_sleep = [power_off = wiring.power_off](uint8_t sleep_type) {
    if (sleep_type == kAcpiS5SleepType) power_off();
  };
  handlers.on_reset = wiring.reset;
  static_assert(kAcpiSleepStatusPort == kAcpiSleepControlPort + AcpiPower::kSleepStatusOffset);
  static_assert(kAcpiResetPort == kAcpiSleepControlPort + AcpiPower::kResetOffset);
  pio.insert(std::make_shared<AcpiPower>(kAcpiResetValue, handlers), kAcpiSleepControlPort,
             AcpiPower::kSize, "ACPI power");
  pio.insert(std::make_shared<I8042>(wiring.reset), I8042::kDataPort, I8042::kSize, "i8042");
  pio.insert(std::make_shared<BootMarker>(std::move(wiring.boot_marker)), BootMarker::kPort,
             BootMarker::kSize, "boot marker");
  pio.insert(std::make_shared<PciHostBridge>(), PciHostBridge::kPort, PciHostBridge::kSize,
             "PCI configuration (host bridge only)");
  auto absent = std::make_shared<AbsentPorts>();
  for (const PortRange& range : kAbsentPorts) {
    if (has_cmos_rtc && range.base == CmosRtc::kPort) continue;
    pio.insert(absent, range.base, range.length, range.name);
  }
  auto events = std::make_shared<GenericEventDevice>(std::move(wiring.event_interrupt));
  mmio.insert(events, kGedMmioAddress.value, GenericEventDevice::kSize,
              "ACPI generic event device");
  return events;
}

}  // namespace

DebugDevices debug_devices_for(GuestKind guest, DebugDevices asked) {
  if (guest == GuestKind::kFlat) {
    asked.debug_exit = true;
    asked.test_device = true;
  }
  return asked;
}

PlatformDevices add_platform_devices(Bus& pio, Bus& mmio, PlatformWiring wiring) {
  PlatformDevices devices;
  devices.serial = std::make_shared<Uart8250>(std::move(wiring.serial_output),
                                              std::move(wiring.serial_interrupt));
  pio.insert(devices.serial, kCom1Port, Uart8250::kRegisterCount, "serial COM1");
  if (wiring.debug.debug_exit && wiring.debug_exit) {
    pio.insert(std::make_shared<DebugExit>(std::move(wiring.debug_exit)), DebugExit::kPort, 1,
               "debug-exit");
  }
  if (const auto& ports = wiring.debug.isa_debug_exit; ports && wiring.debug_exit) {
    auto device = std::make_shared<IsaDebugExit>(
        static_cast<IsaDebugExit::Width>(ports->iosize),
        [exit = wiring.debug_exit](int status) { exit(static_cast<uint8_t>(status)); });
    try {
      pio.insert(device, ports->iobase, device->size(), "isa-debug-exit");
    } catch (const Error& e) {
      throw Error(std::string("--device isa-debug-exit: ") + e.what() + ": choose another iobase");
    }
  }
  if (wiring.debug.pc_testdev) PcTestdev(std::move(wiring.pc_testdev)).add_to(pio, mmio);
  if (wiring.firmware) {
    pio.insert(std::make_shared<FwCfg>(FwCfg::Config{.cpus = wiring.firmware->cpus,
                                                     .ram_bytes = wiring.firmware->ram_bytes}),
               FwCfg::kPort, FwCfg::kSize, "fw_cfg");
    pio.insert(std::make_shared<PmTimer>(), kPmTimerPort, PmTimer::kSize, "ACPI PM timer");
    static_assert(kPm1ControlPort == kPm1EventPort + AcpiPm1::kControlOffset);
    devices.pm1 = std::make_shared<AcpiPm1>(std::move(wiring.firmware->sleep));
    pio.insert(devices.pm1, kPm1EventPort, AcpiPm1::kSize, "ACPI PM1a blocks");
    devices.rtc = std::make_shared<CmosRtc>(CmosRtc::Callbacks{
        std::move(wiring.firmware->rtc_interrupt), [pm1 = devices.pm1] { pm1->rtc_alarm(); }});
    pio.insert(devices.rtc, CmosRtc::kPort, CmosRtc::kSize, "CMOS RTC");
  }
  if (wiring.debug.test_device) {
    auto test_device = std::make_shared<TestDevice>();
    pio.insert(test_device, TestDevice::kPort, TestDevice::kSize, "test device");
    mmio.insert(test_device, kTestDeviceMmioAddress.value, TestDevice::kSize, "test device");
  }
  if (wiring.linux_devices) {
    devices.events = add_linux_devices(pio, mmio, std::move(*wiring.linux_devices),
                                       devices.rtc != nullptr);
  }
  return devices;
}

}  // namespace kvmm

#pragma once
// The platform devices: what every guest gets on the buses — COM1, and for
// flat guests the debug-exit port and the test device — and what a Linux
// guest needs besides:
// ACPI power and reset, the Generic Event Device behind the power button,
// the i8042 reset line, the boot marker, PCI configuration space with a
// host bridge alone, and legacy ports that read as absent. One function wires them, for `kvmm run`, the
// exit benchmark's VM and the KVM-less dispatch benchmark alike.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "base/bus/bus.h"
#include "devices/legacy/boot_marker.h"
#include "devices/power/acpi_pm1.h"
#include "devices/power/generic_event_device.h"
#include "devices/rtc/cmos_rtc.h"
#include "devices/serial/uart8250.h"
#include "devices/testdev/pc_testdev.h"
#include "devices/testdev/test_device.h"

namespace kvmm {

inline constexpr uint16_t kCom1Port = 0x3f8;
inline constexpr uint32_t kCom1Irq = 4;
// The ACPI PM timer of a multiboot guest, where QEMU's PIIX4 has it
// (PMBASE 0x600 + 8), named in the FADT.
inline constexpr uint16_t kPmTimerPort = 0x608;
// Its PM1a event and control blocks, where QEMU's PIIX4 has them (PMBASE
// 0x600 and 0x604), also named in the FADT.
inline constexpr uint16_t kPm1EventPort = 0x600;
inline constexpr uint16_t kPm1ControlPort = 0x604;

// QEMU's isa-debug-exit: where it sits and how wide its register is.
struct IsaDebugExitPorts {
  uint16_t iobase = 0x501;  // QEMU's defaults.
  uint8_t iosize = 1;       // 1, 2 or 4.
  bool operator==(const IsaDebugExitPorts&) const = default;
};

// The debug devices: the debug-exit port lets the guest choose kvmm's exit
// status; the test device is 16 scratch bytes for kvmm's own tests. QEMU's
// isa-debug-exit and pc-testdev carry QEMU's semantics, for guests written
// for QEMU (kvm-unit-tests).
struct DebugDevices {
  bool debug_exit = false;
  bool test_device = false;
  std::optional<IsaDebugExitPorts> isa_debug_exit;
  bool pc_testdev = false;
  bool operator==(const DebugDevices&) const = default;
};

enum class GuestKind { kFlat, kLinux };

// Flat guests get debug-exit and testdev (their tests end through the debug
// exit) besides those asked for; a kernel only those `asked` for (`kvmm run
// --device`), so by default its root cannot choose kvmm's exit status.
DebugDevices debug_devices_for(GuestKind guest, DebugDevices asked);

struct PlatformWiring {
  // What the guest writes to COM1.
  Uart8250::TransmitSink serial_output;
  // COM1's interrupt (IRQ kCom1Irq); empty: none (flat guests poll).
  Uart8250::InterruptLine serial_interrupt;
  // A write to the debug-exit port: the guest's exit status.
  std::function<void(uint8_t status)> debug_exit;
  // Which debug devices to attach (debug_devices_for); the debug-exit port
  // and isa-debug-exit only with a debug_exit callback.
  DebugDevices debug{.debug_exit = true, .test_device = true, .isa_debug_exit = {}, .pc_testdev = false};
  // pc-testdev's page flushes and interrupt lines, when debug.pc_testdev.
  PcTestdev::Callbacks pc_testdev;

  // The PC firmware interfaces of a multiboot guest: fw_cfg (CPU count and
  // RAM size), the ACPI PM timer at kPmTimerPort, the PM1a blocks at
  // kPm1EventPort and kPm1ControlPort, and the CMOS RTC, whose alarm sets
  // PM1_STS.RTC_STS. Unset: none.
  struct Firmware {
    uint16_t cpus = 1;
    uint64_t ram_bytes = 0;
    // IRQ CmosRtc::kIrq; empty: none (only a kernel's VM has an irqchip).
    std::function<void(bool level)> rtc_interrupt;
    // A write of SLP_EN to PM1a_CNT, with its SLP_TYP; on that vCPU's thread.
    AcpiPm1::SleepRequest sleep;
  };
  std::optional<Firmware> firmware;

  // A Linux guest's firmware-facing devices. Each callback runs on a vCPU thread.
  struct Linux {
    std::function<void()> power_off;    // ACPI S5.
    std::function<void()> reset;        // ACPI reset register or the i8042.
    // The guest wrote to the boot marker (a phase of its boot).
    BootMarker::Handler boot_marker;
    // The Generic Event Device's interrupt (GSI kGedGsi, level): called
    // with its new level on the thread that notified or read the device.
    GenericEventDevice::InterruptLine event_interrupt;
  };
  std::optional<Linux> linux_devices;  // Unset: a flat guest.
};

struct PlatformDevices {
  std::shared_ptr<Uart8250> serial;  // COM1: the console feeds its input.
  // The ACPI events (the power button) of a Linux guest, at kGedMmioAddress;
  // null for a flat guest, which has no ACPI.
  std::shared_ptr<GenericEventDevice> events;
  // A multiboot guest's CMOS RTC and PM1a blocks; null for other guests.
  std::shared_ptr<CmosRtc> rtc;
  std::shared_ptr<AcpiPm1> pm1;
};

// Inserts the devices `wiring` asks for into `pio` and `mmio`. Throws Error
// when a range is taken (a kvmm bug).
PlatformDevices add_platform_devices(Bus& pio, Bus& mmio, PlatformWiring wiring);

}  // namespace kvmm

#pragma once
// The platform devices: what every guest gets on the buses — COM1, the
// debug-exit port, the test device — and what a Linux guest needs besides:
// ACPI power and reset, the i8042 reset line, the boot marker, and legacy
// ports that read as absent. One function wires them, for `kvmm run`, the
// exit benchmark's VM and the KVM-less dispatch benchmark alike.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "base/bus/bus.h"
#include "devices/serial/uart8250.h"
#include "devices/testdev/test_device.h"

namespace kvmm {

inline constexpr uint16_t kCom1Port = 0x3f8;
inline constexpr uint32_t kCom1Irq = 4;

struct PlatformWiring {
  // What the guest writes to COM1.
  Uart8250::TransmitSink serial_output;
  // COM1's interrupt (IRQ kCom1Irq); empty: none (flat guests poll).
  Uart8250::InterruptLine serial_interrupt;
  // A write to the debug-exit port: the guest's exit status.
  std::function<void(uint8_t status)> debug_exit;

  // A Linux guest's firmware-facing devices. Each callback runs on a vCPU thread.
  struct Linux {
    std::function<void()> power_off;    // ACPI S5.
    std::function<void()> reset;        // ACPI reset register or the i8042.
    std::function<void()> boot_marker;  // The guest's init reached user space.
  };
  std::optional<Linux> linux_devices;  // Unset: a flat guest.
};

struct PlatformDevices {
  std::shared_ptr<Uart8250> serial;  // COM1: the console feeds its input.
};

// Inserts the devices `wiring` asks for into `pio` and `mmio`. Throws Error
// when a range is taken (a kvmm bug).
PlatformDevices add_platform_devices(Bus& pio, Bus& mmio, PlatformWiring wiring);

}  // namespace kvmm

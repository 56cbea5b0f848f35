// The devices every guest gets, and those a Linux guest needs besides.
#include <unistd.h>

#include <cerrno>

#include "devices/debug/debug_exit.h"
#include "devices/legacy/absent_ports.h"
#include "devices/legacy/boot_marker.h"
#include "devices/legacy/i8042.h"
#include "devices/power/acpi_power.h"
#include "devices/serial/uart8250.h"
#include "devices/testdev/test_device.h"
#include "vmm/boot/acpi/acpi_tables.h"
#include "vmm/machine/machine.h"

namespace kvmm {

namespace {

constexpr uint16_t kCom1Port = 0x3f8;
constexpr uint32_t kCom1Irq = 4;

void write_stdout(uint8_t byte) {
  // Unbuffered on purpose: the console is interactive and a crash must not
  // swallow the guest's last words.
  while (::write(STDOUT_FILENO, &byte, 1) < 0 && errno == EINTR) {
  }
}

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
    // shutdown byte when it reboots through the reset vector.
    {0x70, 2, "CMOS RTC"},
    {0x80, 1, "POST code (I/O delay)"},
    {0x81, 0xf, "DMA page registers"},
    {0x278, 3, "LPT2"},
    {0x2e8, 8, "COM4"},
    {0x2f8, 8, "COM2"},
    {0x378, 3, "LPT1"},
    {0x3e8, 8, "COM3"},
    {0xcf8, 8, "PCI configuration"},
};

}  // namespace

void Machine::add_devices() {
  auto serial_sink = [this](uint8_t byte) {
    trace_.mark("first console byte");
    panic_watch_.feed(byte);
    write_stdout(byte);
  };
  if (is_linux()) {
    serial_ = std::make_shared<Uart8250>(
        serial_sink, [this](bool asserted) { vm_->set_irq_line(kCom1Irq, asserted); });
  } else {
    serial_ = std::make_shared<Uart8250>(serial_sink);
  }
  pio_.insert(serial_, kCom1Port, Uart8250::kRegisterCount, "serial COM1");
  pio_.insert(std::make_shared<DebugExit>([this](uint8_t status) {
                stop_.request_stop(RunOutcome{status, ""});
              }),
              DebugExit::kPort, 1, "debug-exit");
  auto test_device = std::make_shared<TestDevice>();
  pio_.insert(test_device, TestDevice::kPort, TestDevice::kSize, "test device");
  mmio_.insert(test_device, TestDevice::kMmioAddress, TestDevice::kSize, "test device");
  if (is_linux()) add_linux_devices();
  add_virtio_devices();
}

void Machine::add_linux_devices() {
  auto power_off = [this] {
    trace_.mark("guest powered off");
    stop_.request_stop(RunOutcome{kExitOk, ""});
  };
  // A panicking kernel (panic=-1) resets the same way a rebooting one does;
  // the console tells them apart.
  auto reset = [this] {
    trace_.mark("guest reset");
    if (auto reason = panic_watch_.panic_reason()) {
      stop_.request_stop(RunOutcome{kExitGuestPanicked, "the guest kernel panicked: " + *reason});
    } else {
      stop_.request_stop(
          RunOutcome{kExitOk, "the guest rebooted; kvmm stops instead of restarting it"});
    }
  };
  AcpiPower::Handlers handlers;
  handlers.on_sleep = [power_off](uint8_t sleep_type) {
    if (sleep_type == kAcpiS5SleepType) power_off();
  };
  handlers.on_reset = reset;
  static_assert(kAcpiSleepStatusPort == kAcpiSleepControlPort + AcpiPower::kSleepStatusOffset);
  static_assert(kAcpiResetPort == kAcpiSleepControlPort + AcpiPower::kResetOffset);
  pio_.insert(std::make_shared<AcpiPower>(kAcpiResetValue, handlers), kAcpiSleepControlPort,
              AcpiPower::kSize, "ACPI power");
  pio_.insert(std::make_shared<I8042>(reset), I8042::kDataPort, I8042::kSize, "i8042");
  pio_.insert(std::make_shared<BootMarker>([this](uint8_t) { trace_.mark("guest marker (init)"); }),
              BootMarker::kPort, 1, "boot marker");
  auto absent = std::make_shared<AbsentPorts>();
  for (const PortRange& range : kAbsentPorts) pio_.insert(absent, range.base, range.length, range.name);
}

}  // namespace kvmm

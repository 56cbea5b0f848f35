#pragma once
// The ACPI tables a Linux guest boots with: RSDP, XSDT, FADT, MADT and DSDT,
// written into the BIOS area of guest memory (ACPI 6.4 §5.2).
//
// For Linux the platform is "hardware-reduced" (ACPI 6.4 §4.1): no PM1
// event/control blocks, no GPEs, no SCI, no FACS. Power-off and reset go
// through three one-byte I/O ports instead, which the FADT names:
//
//   Sleep control (kAcpiSleepControlPort, §4.8.3.7): to enter S5 (soft off)
//     the guest writes (SLP_TYP << 2) | SLP_EN, SLP_EN being bit 5 and SLP_TYP
//     the first value of the DSDT's \_S5_ package (kAcpiS5SleepType = 5), so
//     0x34. is_s5_request() recognises that write; the device on the port
//     powers the VM off. Other values are other sleep states: ignore them.
//   Sleep status (kAcpiSleepStatusPort, §4.8.3.7): the guest writes WAK_STS
//     (bit 7) to clear it before sleeping and polls it after waking. A VM that
//     never wakes can read 0 and ignore writes.
//   Reset (kAcpiResetPort, FADT RESET_REG, §4.8.3.6): the guest writes
//     kAcpiResetValue to reboot.
//
// A multiboot guest (kvm-unit-tests, written for QEMU's PC) gets the PC-style
// parts besides (AcpiConfig::pm1, cmos_rtc, pm_timer_port): the PM1a event
// and control blocks, so that a write of SLP_EN | SLP_TYP 1 (\_S3_) to
// PM1a_CNT suspends it to RAM; a FACS after the FADT (64-byte aligned),
// whose firmware_waking_vector the guest fills in and kvmm resumes vCPU 0
// at, in real mode; the CMOS RTC (its alarm is the wake event) and the PM
// timer. Its FADT does not set HW_REDUCED_ACPI. No SCI is wired: nothing
// in the guest takes ACPI events from these blocks but the wake status.
//
// The power button (ACPI 6.4 §4.8.2.2.1.2, a control-method button, _HID
// PNP0C0C) hangs off a Generic Event Device (§5.6.9, _HID ACPI0013), the
// hardware-reduced way to deliver events: the GED's interrupt is GSI kGedGsi
// (level, active high: the first IOAPIC pin past the ISA IRQs, so no 8259
// and no override are involved); its _EVT method reads the 32-bit event
// register at kGedMmioAddress (reading clears it) and, when bit
// kGedPowerButtonEvent is set, does Notify(\_SB_.PWRB, 0x80), which Linux's
// button driver turns into a KEY_POWER press.
//
// Interrupts, as the MADT and the MP table describe them: one local APIC per
// vCPU (APIC ID = vCPU index), one 24-pin IOAPIC (ID = the vCPU count, GSI
// base 0), ISA IRQs identity-mapped edge/active-high — IRQ0 (the PIT) on
// pin 0 too, unlike a PC's pin 2, because that is how KVM's default GSI
// routing wires the in-kernel PIT (as Firecracker and kvmtool describe it) —
// and level-triggered virtio IRQs below 16 get their own override.
#include <cstdint>
#include <optional>
#include <vector>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/acpi/aml.h"

namespace kvmm {

inline constexpr uint16_t kAcpiSleepControlPort = 0x3c0;
inline constexpr uint16_t kAcpiSleepStatusPort = 0x3c1;
inline constexpr uint16_t kAcpiResetPort = 0x3c2;
inline constexpr uint8_t kAcpiResetValue = 0x1;
inline constexpr uint8_t kAcpiS5SleepType = 5;
inline constexpr uint32_t kGedGsi = 16;
inline constexpr uint32_t kGedPowerButtonEvent = 1u << 0;
inline constexpr uint32_t kGedRegisterSize = 4;

// PC-style power management for guests written for PCs (kvm-unit-tests,
// multiboot): SLP_TYP values in PM1a_CNT (bits 12-10) and the DSDT's \_S3_
// and \_S5_ packages. S5's value is the same as the hardware-reduced one.
inline constexpr uint8_t kAcpiS3SleepType = 1;
// The FACS field the guest writes its real-mode waking vector to (§5.2.10).
inline constexpr uint64_t kFacsFirmwareWakingVectorOffset = 12;
// The FADT's CENTURY (§5.2.9): the CMOS RAM index of the century.
inline constexpr uint8_t kAcpiCenturyCmosIndex = 0x32;

// The tables go in [kAcpiTablesBase, kAcpiTablesEnd) (vmm/arch/x86/layout.h),
// which the e820 map marks reserved; so are the APIC addresses they name.
inline constexpr uint32_t kIoApicPins = 24;  // KVM's in-kernel IOAPIC.
// APIC IDs are 8 bits in the MADT and the MP table, the IOAPIC takes the ID
// after the last vCPU's, and 0xff means "all".
inline constexpr uint32_t kMaxFirmwareTableCpus = 254;

// A virtio-mmio transport, described in the DSDT as LNRO0005 so Linux's
// virtio_mmio driver finds it without command-line arguments.
struct VirtioMmioDevice {
  GuestAddress base;
  uint32_t size = 0x200;
  uint32_t irq = 0;  // A GSI: an IOAPIC pin, below kIoApicPins.
  aml::InterruptTrigger trigger = aml::InterruptTrigger::kEdge;
};

struct AcpiConfig {
  uint32_t cpus = 1;
  std::vector<VirtioMmioDevice> virtio_devices;  // Named VR00, VR01, ... in order.
  bool serial = true;                            // COM1 at 0x3f8, IRQ 4.
  bool power_button = true;                      // The GED and PWRB (above).
  // The ACPI PM timer's 4-byte I/O block (§4.8.3.3), in PM_TMR_BLK and
  // X_PM_TMR_BLK; unset, both stay zero and the tables a Linux guest sees
  // do not change. The spec has an OS ignore these fields on a hardware-
  // reduced platform (§5.2.9); guests that read the FADT themselves, such as
  // kvm-unit-tests' vmexit, time I/O exits against the port.
  std::optional<uint16_t> pm_timer_port;
  // PC-style power management (§4.8.1): the PM1a event block (PM1_STS and
  // PM1_EN, 4 bytes) and control block (PM1_CNT, 2 bytes) at these ports,
  // named in PM1a_EVT_BLK/X_PM1a_EVT_BLK and PM1a_CNT_BLK/X_PM1a_CNT_BLK; a
  // FACS (FIRMWARE_CTRL and X_FIRMWARE_CTRL point to it) for the waking
  // vector; \_S3_ in the DSDT; and the FADT's HW_REDUCED_ACPI flag clear.
  // Unset: none of it, and the tables a Linux guest sees do not change.
  struct Pm1Blocks {
    uint16_t event_port;
    uint16_t control_port;
  };
  std::optional<Pm1Blocks> pm1;
  // A CMOS RTC at 0x70: IAPC_BOOT_ARCH's "CMOS RTC not present" clear and
  // CENTURY = kAcpiCenturyCmosIndex. False: the RTC is declared absent.
  bool cmos_rtc = false;
};

// True when `value`, written to kAcpiSleepControlPort, asks for S5.
bool is_s5_request(uint8_t value);

// Writes the tables at `base` (16-byte aligned, below kAcpiTablesEnd) and
// returns the RSDP's address, for boot_params.acpi_rsdp_addr. Throws Error
// when the configuration cannot be described (no vCPUs, too many, a device
// outside 4 GiB or the IOAPIC) or the tables do not fit below kAcpiTablesEnd.
GuestAddress write_acpi_tables(const GuestMemory& memory, const AcpiConfig& config,
                               GuestAddress base = kAcpiTablesBase);

// Where write_acpi_tables(memory, config, base) puts the FACS when
// config.pm1 is set: the machine reads the guest's waking vector there.
GuestAddress acpi_facs_address(GuestAddress base = kAcpiTablesBase);

}  // namespace kvmm

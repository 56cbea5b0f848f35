#include "vmm/boot/acpi/acpi_tables.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/util/error.h"
#include "base/util/format.h"

namespace kvmm {
namespace {

// The tables are copied to the guest byte for byte: x86 is little-endian, as ACPI is.
static_assert(std::endian::native == std::endian::little);

using aml::Bytes;

constexpr std::string_view kOemId = "KVMM  ";
constexpr std::string_view kOemTableId = "KVMMVM  ";
constexpr std::string_view kCreatorId = "KVMM";
constexpr std::string_view kHypervisorVendorIdentity = "KVMMKVMM";
constexpr uint32_t kOemRevision = 1;
constexpr uint32_t kCreatorRevision = 1;

constexpr uint64_t kTableAlignment = 16;
constexpr uint32_t kVirtioMmioMaxDevices = 256;  // VR00-VRFF.

// The S5 request (§4.8.3.7): SLP_TYP in bits 4-2, SLP_EN in bit 5.
constexpr uint8_t kSleepTypeShift = 2;
constexpr uint8_t kSleepTypeMask = 0x7;
constexpr uint8_t kSleepEnable = 1 << 5;

#pragma pack(push, 1)

// Root System Description Pointer (§5.2.5.3), ACPI 2.0+ form.
struct Rsdp {
  char signature[8];
  uint8_t checksum;  // Over the first 20 bytes (the ACPI 1.0 part).
  char oem_id[6];
  uint8_t revision;
  uint32_t rsdt_address;
  uint32_t length;
  uint64_t xsdt_address;
  uint8_t extended_checksum;  // Over all 36 bytes.
  uint8_t reserved[3];
};
static_assert(sizeof(Rsdp) == 36);

// System Description Table Header (§5.2.6).
struct SdtHeader {
  char signature[4];
  uint32_t length;
  uint8_t revision;
  uint8_t checksum;
  char oem_id[6];
  char oem_table_id[8];
  uint32_t oem_revision;
  char creator_id[4];
  uint32_t creator_revision;
};
static_assert(sizeof(SdtHeader) == 36);

// Generic Address Structure (§5.2.3.2).
struct Gas {
  uint8_t address_space_id;
  uint8_t register_bit_width;
  uint8_t register_bit_offset;
  uint8_t access_size;
  uint64_t address;
};
static_assert(sizeof(Gas) == 12);

// FADT (§5.2.9, Table 5.9) after its header. A hardware-reduced platform
// leaves every PC-AT power-management field zero but the optional PM timer;
// a multiboot guest's PC-style tables fill in the FACS pointer and the PM1a
// blocks too. The fields kvmm never sets are grouped in blocks.
struct FadtBody {
  uint32_t firmware_ctrl;  // Offset 36: the FACS.
  uint32_t dsdt;
  uint8_t pc_at_fields_before_pm1[12];  // Reserved (44) to PSTATE_CNT (55).
  uint32_t pm1a_evt_blk;                // 56
  uint32_t pm1b_evt_blk;
  uint32_t pm1a_cnt_blk;                // 64
  uint32_t pm1b_cnt_blk;
  uint32_t pm2_cnt_blk;
  uint32_t pm_tmr_blk;                  // 76
  uint8_t gpe_blocks[8];                // GPE0_BLK (80), GPE1_BLK (84).
  uint8_t pm1_evt_len;                  // 88
  uint8_t pm1_cnt_len;                  // 89
  uint8_t pm2_cnt_len;
  uint8_t pm_tmr_len;                   // 91
  uint8_t pc_at_fields_after_timer[16];  // GPE0_BLK_LEN (92) to MON_ALRM (107).
  uint8_t century;                       // 108
  uint16_t iapc_boot_arch;
  uint8_t reserved;
  uint32_t flags;
  Gas reset_reg;
  uint8_t reset_value;
  uint16_t arm_boot_arch;
  uint8_t minor_version;
  uint64_t x_firmware_ctrl;
  uint64_t x_dsdt;
  Gas x_pm1a_evt_blk;
  Gas x_pm1b_evt_blk;
  Gas x_pm1a_cnt_blk;
  Gas x_pm_blocks[2];  // X_PM1b_CNT_BLK, X_PM2_CNT_BLK.
  Gas x_pm_tmr_blk;
  Gas x_gpe_blocks[2];  // X_GPE0_BLK, X_GPE1_BLK.
  Gas sleep_control_reg;
  Gas sleep_status_reg;
  char hypervisor_vendor_identity[8];
};
static_assert(sizeof(SdtHeader) + sizeof(FadtBody) == 276);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, pm1a_evt_blk) == 56);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, pm1a_cnt_blk) == 64);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, pm_tmr_blk) == 76);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, pm1_evt_len) == 88);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, century) == 108);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, pm_tmr_len) == 91);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, iapc_boot_arch) == 109);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, flags) == 112);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, reset_reg) == 116);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, minor_version) == 131);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, x_firmware_ctrl) == 132);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, x_dsdt) == 140);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, x_pm1a_evt_blk) == 148);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, x_pm1a_cnt_blk) == 172);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, x_pm_tmr_blk) == 208);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, sleep_control_reg) == 244);
static_assert(sizeof(SdtHeader) + offsetof(FadtBody, hypervisor_vendor_identity) == 268);

// Firmware ACPI Control Structure (§5.2.10, Table 5.14): no header and no
// checksum; the guest writes its waking vector here before it sleeps.
struct Facs {
  char signature[4];
  uint32_t length;
  uint32_t hardware_signature;
  uint32_t firmware_waking_vector;
  uint32_t global_lock;
  uint32_t flags;
  uint64_t x_firmware_waking_vector;
  uint8_t version;
  uint8_t reserved[3];
  uint32_t ospm_flags;
  uint8_t reserved2[24];
};
static_assert(sizeof(Facs) == 64);
static_assert(offsetof(Facs, firmware_waking_vector) == kFacsFirmwareWakingVectorOffset);

// MADT (§5.2.12) fields after the header, then its interrupt controller
// structures (§5.2.12.2, .3, .5, .7).
struct MadtFixed {
  uint32_t local_apic_address;
  uint32_t flags;
};
struct MadtLocalApic {
  uint8_t type = 0;
  uint8_t length = 8;
  uint8_t processor_uid;
  uint8_t apic_id;
  uint32_t flags;
};
struct MadtIoApic {
  uint8_t type = 1;
  uint8_t length = 12;
  uint8_t io_apic_id;
  uint8_t reserved = 0;
  uint32_t address;
  uint32_t gsi_base;
};
struct MadtInterruptSourceOverride {
  uint8_t type = 2;
  uint8_t length = 10;
  uint8_t bus = 0;  // ISA.
  uint8_t source;
  uint32_t gsi;
  uint16_t flags;
};
struct MadtLocalApicNmi {
  uint8_t type = 4;
  uint8_t length = 6;
  uint8_t processor_uid;
  uint16_t flags;
  uint8_t lint;
};
static_assert(sizeof(MadtLocalApic) == 8 && sizeof(MadtIoApic) == 12);
static_assert(sizeof(MadtInterruptSourceOverride) == 10 && sizeof(MadtLocalApicNmi) == 6);

#pragma pack(pop)

// Table revisions as of ACPI 6.4. The DSDT's 2 makes AML integers 64-bit (§5.2.11.1).
constexpr uint8_t kRsdpRevision = 2;
constexpr uint8_t kXsdtRevision = 1;
constexpr uint8_t kFadtRevision = 6;
constexpr uint8_t kFadtMinorVersion = 4;
constexpr uint8_t kMadtRevision = 5;
constexpr uint8_t kDsdtRevision = 2;
constexpr uint8_t kFacsVersion = 2;  // Table 5.14: unchanged since ACPI 4.0.
// The FACS must start on a 64-byte boundary (§5.2.10).
constexpr uint64_t kFacsAlignment = 64;

// FADT Flags (Table 5.10) and IAPC_BOOT_ARCH (Table 5.11, §5.2.9.3). With
// the 8042 bit clear Linux does not probe for a PS/2 controller.
constexpr uint32_t kFadtResetRegSupported = 1u << 10;
constexpr uint32_t kFadtHardwareReducedAcpi = 1u << 20;
constexpr uint16_t kBootArchVgaNotPresent = 1u << 2;
constexpr uint16_t kBootArchCmosRtcNotPresent = 1u << 5;

// GAS address space and access size (Table 5.1).
constexpr uint8_t kGasSystemIo = 1;
constexpr uint8_t kGasByteAccess = 1;
constexpr uint8_t kGasWordAccess = 2;
constexpr uint8_t kGasDwordAccess = 3;

// PM_TMR_LEN (Table 5.9): the timer block is always 4 bytes.
constexpr uint8_t kPmTimerLength = 4;
// PM1_EVT_LEN and PM1_CNT_LEN (Table 5.9, §4.8.3.1): PM1_STS and PM1_EN of
// 2 bytes each; PM1_CNT of 2.
constexpr uint8_t kPm1EventLength = 4;
constexpr uint8_t kPm1ControlLength = 2;

// MADT flags (Table 5.20): PCAT_COMPAT is set because KVM's in-kernel
// irqchip does emulate the dual 8259 and feeds ISA IRQs to it as well as to
// the IOAPIC; the bit tells the OS there is one to mask before it uses the
// IOAPIC. Local APIC flags (Table 5.23): enabled.
constexpr uint32_t kMadtPcatCompat = 1u << 0;
constexpr uint32_t kLocalApicEnabled = 1u << 0;
// MPS INTI flags (Table 5.26): polarity bits 1-0, trigger mode bits 3-2.
constexpr uint16_t kIntiActiveHigh = 0x1;
constexpr uint16_t kIntiEdge = 0x1 << 2;
constexpr uint16_t kIntiLevel = 0x3 << 2;
constexpr uint8_t kAllProcessors = 0xff;
constexpr uint8_t kLint1 = 1;

constexpr uint32_t kIsaIrqs = 16;
constexpr uint32_t kSerialIrq = 4;
constexpr uint16_t kSerialPort = 0x3f8;
constexpr uint8_t kSerialPortCount = 8;
// Notify value for a power button (§5.6.6, Table 5.187): "pressed".
constexpr uint8_t kPowerButtonPressed = 0x80;

template <typename T>
void append_obj(Bytes& out, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

template <size_t N>
void copy_id(char (&field)[N], std::string_view id) {
  std::memcpy(field, id.data(), std::min(N, id.size()));
}

uint8_t checksum(std::span<const uint8_t> bytes) {
  uint8_t sum = 0;
  for (uint8_t byte : bytes) sum = static_cast<uint8_t>(sum + byte);
  return static_cast<uint8_t>(-sum);
}

uint64_t align_up(uint64_t value, uint64_t alignment = kTableAlignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

// A whole table: header, `body`, and the checksum that makes it sum to zero.
Bytes sdt(std::string_view signature, uint8_t revision, const Bytes& body) {
  SdtHeader header{};
  copy_id(header.signature, signature);
  header.length = static_cast<uint32_t>(sizeof(header) + body.size());
  header.revision = revision;
  copy_id(header.oem_id, kOemId);
  copy_id(header.oem_table_id, kOemTableId);
  header.oem_revision = kOemRevision;
  copy_id(header.creator_id, kCreatorId);
  header.creator_revision = kCreatorRevision;
  Bytes table;
  append_obj(table, header);
  table.insert(table.end(), body.begin(), body.end());
  table[offsetof(SdtHeader, checksum)] = checksum(table);
  return table;
}

Gas io_port_register(uint16_t port) {
  return Gas{kGasSystemIo, 8, 0, kGasByteAccess, port};
}

Bytes fadt_body(GuestAddress dsdt, std::optional<GuestAddress> facs, const AcpiConfig& config) {
  FadtBody fadt{};
  // The suite's find_acpi_table_addr() reads the 32-bit FIRMWARE_CTRL, ACPICA
  // prefers X_FIRMWARE_CTRL: both, with the same address (§5.2.9).
  if (facs) {
    fadt.firmware_ctrl = static_cast<uint32_t>(facs->value);
    fadt.x_firmware_ctrl = facs->value;
  }
  if (config.pm1) {
    fadt.pm1a_evt_blk = config.pm1->event_port;
    fadt.pm1_evt_len = kPm1EventLength;
    fadt.x_pm1a_evt_blk = Gas{kGasSystemIo, kPm1EventLength * 8, 0, kGasWordAccess,
                              config.pm1->event_port};
    fadt.pm1a_cnt_blk = config.pm1->control_port;
    fadt.pm1_cnt_len = kPm1ControlLength;
    fadt.x_pm1a_cnt_blk = Gas{kGasSystemIo, kPm1ControlLength * 8, 0, kGasWordAccess,
                              config.pm1->control_port};
  }
  if (config.pm_timer_port) {
    // Both forms: ACPICA prefers X_PM_TMR_BLK, simpler guests read
    // PM_TMR_BLK. TMR_VAL_EXT stays clear in the flags: 24 bits.
    fadt.pm_tmr_blk = *config.pm_timer_port;
    fadt.pm_tmr_len = kPmTimerLength;
    fadt.x_pm_tmr_blk = Gas{kGasSystemIo, 32, 0, kGasDwordAccess, *config.pm_timer_port};
  }
  fadt.iapc_boot_arch = kBootArchVgaNotPresent;
  if (config.cmos_rtc) {
    fadt.century = kAcpiCenturyCmosIndex;
  } else {
    fadt.iapc_boot_arch |= kBootArchCmosRtcNotPresent;
  }
  // With PM1 blocks the platform is no longer hardware-reduced (§4.1): an OS
  // that honours the flag would ignore them.
  fadt.flags = kFadtResetRegSupported;
  if (!config.pm1) fadt.flags |= kFadtHardwareReducedAcpi;
  fadt.reset_reg = io_port_register(kAcpiResetPort);
  fadt.reset_value = kAcpiResetValue;
  fadt.minor_version = kFadtMinorVersion;
  // Only the 64-bit pointer: an OS must ignore DSDT when X_DSDT is set (§5.2.9).
  fadt.x_dsdt = dsdt.value;
  fadt.sleep_control_reg = io_port_register(kAcpiSleepControlPort);
  fadt.sleep_status_reg = io_port_register(kAcpiSleepStatusPort);
  copy_id(fadt.hypervisor_vendor_identity, kHypervisorVendorIdentity);
  Bytes body;
  append_obj(body, fadt);
  return body;
}

Bytes madt_body(const AcpiConfig& config) {
  Bytes body;
  append_obj(body, MadtFixed{kLocalApicAddress, kMadtPcatCompat});
  for (uint32_t cpu = 0; cpu < config.cpus; ++cpu) {
    MadtLocalApic local_apic{};
    local_apic.processor_uid = static_cast<uint8_t>(cpu);
    local_apic.apic_id = static_cast<uint8_t>(cpu);
    local_apic.flags = kLocalApicEnabled;
    append_obj(body, local_apic);
  }
  MadtIoApic io_apic{};
  io_apic.io_apic_id = static_cast<uint8_t>(config.cpus);
  io_apic.address = kIoApicAddress;
  io_apic.gsi_base = 0;
  append_obj(body, io_apic);
  // ISA IRQs without an override are identity-mapped, edge, active-high
  // (§5.2.12.5). That includes the timer: KVM routes the PIT's GSI 0 to
  // IOAPIC pin 0, so a PC's IRQ0 -> GSI 2 override would be false here.
  // A level-triggered device on an ISA IRQ must say so, or the OS keeps the
  // ISA default and misses interrupts.
  for (const VirtioMmioDevice& device : config.virtio_devices) {
    if (device.trigger != aml::InterruptTrigger::kLevel || device.irq >= kIsaIrqs) continue;
    MadtInterruptSourceOverride level{};
    level.source = static_cast<uint8_t>(device.irq);
    level.gsi = device.irq;
    level.flags = kIntiLevel | kIntiActiveHigh;
    append_obj(body, level);
  }
  MadtLocalApicNmi nmi{};
  nmi.processor_uid = kAllProcessors;
  nmi.flags = kIntiEdge | kIntiActiveHigh;
  nmi.lint = kLint1;
  append_obj(body, nmi);
  return body;
}

Bytes com1_device() {
  return aml::device("COM1", {
      aml::name("_HID", aml::eisa_id("PNP0501")),
      aml::name("_UID", aml::integer(0)),
      aml::name("_CRS", aml::resource_template({
          aml::io_port(kSerialPort, kSerialPort, 1, kSerialPortCount),
          aml::interrupt(aml::InterruptTrigger::kEdge, aml::InterruptPolarity::kActiveHigh,
                         aml::InterruptSharing::kExclusive, kSerialIrq),
      })),
  });
}

Bytes virtio_mmio_device(uint32_t index, const VirtioMmioDevice& device) {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  const std::string name = {'V', 'R', kHexDigits[index >> 4], kHexDigits[index & 0xf]};
  return aml::device(name, {
      aml::name("_HID", aml::string("LNRO0005")),
      aml::name("_UID", aml::integer(index)),
      aml::name("_CRS", aml::resource_template({
          aml::memory32_fixed(aml::MemoryAccess::kReadWrite,
                              static_cast<uint32_t>(device.base.value), device.size),
          aml::interrupt(device.trigger, aml::InterruptPolarity::kActiveHigh,
                         aml::InterruptSharing::kExclusive, device.irq),
      })),
  });
}

static_assert(kGedGsi >= kIsaIrqs && kGedGsi < kIoApicPins);

// The Generic Event Device (ACPI 6.4 §5.6.9). Its _EVT takes the GSI that
// fired (Arg0); with one interrupt there is nothing to tell apart, so it
// reads the event register once and acts on each bit:
//   Method (_EVT, 1, Serialized) {
//     Store (GDAT, Local0)
//     If (And (Local0, kGedPowerButtonEvent)) { Notify (\_SB_.PWRB, 0x80) }
//   }
Bytes generic_event_device() {
  static_assert(kGedMmioAddress.value + kGedRegisterSize <= UINT32_MAX);
  return aml::device("GED_", {
      aml::name("_HID", aml::string("ACPI0013")),
      aml::name("_UID", aml::integer(0)),
      aml::name("_CRS", aml::resource_template({
          aml::interrupt(aml::InterruptTrigger::kLevel, aml::InterruptPolarity::kActiveHigh,
                         aml::InterruptSharing::kExclusive, kGedGsi),
      })),
      aml::operation_region("GDST", aml::RegionSpace::kSystemMemory, kGedMmioAddress.value,
                            kGedRegisterSize),
      aml::field("GDST", aml::FieldAccess::kDWord, aml::FieldUpdate::kWriteAsZeros,
                 {{"GDAT", kGedRegisterSize * 8}}),
      aml::method("_EVT", 1, aml::MethodSerialization::kSerialized, {
          aml::store(aml::name_reference("GDAT"), aml::local(0)),
          aml::if_then(aml::bitwise_and(aml::local(0), aml::integer(kGedPowerButtonEvent)), {
              aml::notify("\\_SB_.PWRB", kPowerButtonPressed),
          }),
      }),
  });
}

// A control-method power button (§4.8.2.2.1.2): no registers, only the
// notifications the GED sends it.
Bytes power_button_device() {
  return aml::device("PWRB", {
      aml::name("_HID", aml::eisa_id("PNP0C0C")),
      aml::name("_UID", aml::integer(0)),
  });
}

// A \_Sx_ package (§7.4.2): SLP_TYP for PM1a_CNT (and the hardware-reduced
// sleep control register), for PM1b_CNT, then two reserved.
Bytes sleep_package(std::string_view name, uint8_t sleep_type) {
  return aml::name(name, aml::package({aml::integer(sleep_type), aml::integer(0),
                                       aml::integer(0), aml::integer(0)}));
}

Bytes dsdt_body(const AcpiConfig& config) {
  Bytes body;
  if (config.pm1) body = sleep_package("\\_S3_", kAcpiS3SleepType);
  const Bytes soft_off = sleep_package("\\_S5_", kAcpiS5SleepType);
  body.insert(body.end(), soft_off.begin(), soft_off.end());
  std::vector<Bytes> devices;
  if (config.serial) devices.push_back(com1_device());
  if (config.power_button) {
    devices.push_back(power_button_device());
    devices.push_back(generic_event_device());
  }
  for (uint32_t i = 0; i < config.virtio_devices.size(); ++i) {
    devices.push_back(virtio_mmio_device(i, config.virtio_devices[i]));
  }
  const Bytes system_bus = aml::scope("\\_SB_", devices);
  body.insert(body.end(), system_bus.begin(), system_bus.end());
  return body;
}

void check_config(const AcpiConfig& config) {
  if (config.cpus == 0 || config.cpus > kMaxFirmwareTableCpus) {
    throw Error("ACPI tables cannot describe " + std::to_string(config.cpus) +
                " vCPUs: use 1 to " + std::to_string(kMaxFirmwareTableCpus));
  }
  if (config.virtio_devices.size() > kVirtioMmioMaxDevices) {
    throw Error("ACPI tables name at most " + std::to_string(kVirtioMmioMaxDevices) +
                " virtio-mmio devices, not " + std::to_string(config.virtio_devices.size()) +
                ": remove some");
  }
  for (const VirtioMmioDevice& device : config.virtio_devices) {
    if (device.irq >= kIoApicPins) {
      throw Error("virtio-mmio device at " + hex(device.base.value) + " uses IRQ " +
                  std::to_string(device.irq) + ", past the IOAPIC's " +
                  std::to_string(kIoApicPins) + " pins: use a lower IRQ");
    }
    if (device.size == 0 || device.base.value > UINT32_MAX - (device.size - 1)) {
      throw Error("virtio-mmio device at " + hex(device.base.value) +
                  " does not lie below 4 GiB: place it in the 32-bit MMIO hole");
    }
  }
}

void write_bytes(const GuestMemory& memory, GuestAddress address, std::span<const uint8_t> bytes) {
  if (!memory.write(address, bytes)) {
    throw Error("guest memory does not cover the ACPI tables at " + hex(address.value) +
                ": give the guest at least 1 MiB of RAM");
  }
}

constexpr uint64_t kXsdtSize = sizeof(SdtHeader) + 2 * sizeof(uint64_t);
constexpr uint64_t kFadtSize = sizeof(SdtHeader) + sizeof(FadtBody);

// Where the tables of fixed size go. RSDP first, so a guest scanning the
// BIOS area finds it at `base`; the FACS, when there is one, between the
// FADT and the MADT; the DSDT, whose size varies most, last.
struct FixedLayout {
  GuestAddress xsdt;
  GuestAddress fadt;
  GuestAddress facs;
};

FixedLayout fixed_layout(GuestAddress base) {
  const GuestAddress xsdt{align_up(base.value + sizeof(Rsdp))};
  const GuestAddress fadt{align_up(xsdt.value + kXsdtSize)};
  const GuestAddress facs{align_up(fadt.value + kFadtSize, kFacsAlignment)};
  return {xsdt, fadt, facs};
}

}  // namespace

GuestAddress acpi_facs_address(GuestAddress base) { return fixed_layout(base).facs; }

bool is_s5_request(uint8_t value) {
  return (value & kSleepEnable) != 0 &&
         ((value >> kSleepTypeShift) & kSleepTypeMask) == kAcpiS5SleepType;
}

GuestAddress write_acpi_tables(const GuestMemory& memory, const AcpiConfig& config,
                               GuestAddress base) {
  check_config(config);
  if (base.value % kTableAlignment != 0 || base < kAcpiTablesBase || base >= kAcpiTablesEnd) {
    throw Error("ACPI tables cannot start at " + hex(base.value) +
                ": the RSDP needs a 16-byte boundary in [" + hex(kAcpiTablesBase.value) + ", " +
                hex(kAcpiTablesEnd.value) + ")");
  }
  const Bytes madt = sdt("APIC", kMadtRevision, madt_body(config));
  const Bytes dsdt = sdt("DSDT", kDsdtRevision, dsdt_body(config));

  const FixedLayout fixed = fixed_layout(base);
  const GuestAddress xsdt_address = fixed.xsdt;
  const GuestAddress fadt_address = fixed.fadt;
  std::optional<GuestAddress> facs_address;
  uint64_t after_fadt = fadt_address.value + kFadtSize;
  if (config.pm1) {
    facs_address = fixed.facs;
    after_fadt = facs_address->value + sizeof(Facs);
  }
  const GuestAddress madt_address{align_up(after_fadt)};
  const GuestAddress dsdt_address{align_up(madt_address.value + madt.size())};
  const uint64_t end = dsdt_address.value + dsdt.size();
  if (end > kAcpiTablesEnd.value) {
    throw Error("ACPI tables for " + std::to_string(config.cpus) + " vCPUs and " +
                std::to_string(config.virtio_devices.size()) + " virtio devices need " +
                hex(end - base.value) + " bytes from " + hex(base.value) + ", past " +
                hex(kAcpiTablesEnd.value) + ": use fewer vCPUs or devices");
  }

  Bytes xsdt_entries;
  append_obj(xsdt_entries, fadt_address.value);
  append_obj(xsdt_entries, madt_address.value);
  const Bytes xsdt = sdt("XSDT", kXsdtRevision, xsdt_entries);
  const Bytes fadt = sdt("FACP", kFadtRevision, fadt_body(dsdt_address, facs_address, config));

  // RsdtAddress stays 0: an ACPI 2.0+ OS uses the XSDT (§5.2.5.3).
  Rsdp rsdp{};
  copy_id(rsdp.signature, "RSD PTR ");
  copy_id(rsdp.oem_id, kOemId);
  rsdp.revision = kRsdpRevision;
  rsdp.length = sizeof(Rsdp);
  rsdp.xsdt_address = xsdt_address.value;
  Bytes rsdp_bytes;
  append_obj(rsdp_bytes, rsdp);
  rsdp_bytes[offsetof(Rsdp, checksum)] =
      checksum(std::span(rsdp_bytes).first(offsetof(Rsdp, rsdt_address) + 4));
  rsdp_bytes[offsetof(Rsdp, extended_checksum)] = checksum(rsdp_bytes);

  write_bytes(memory, base, rsdp_bytes);
  write_bytes(memory, xsdt_address, xsdt);
  write_bytes(memory, fadt_address, fadt);
  if (facs_address) {
    Facs facs{};
    copy_id(facs.signature, "FACS");
    facs.length = sizeof(Facs);
    facs.version = kFacsVersion;
    Bytes facs_bytes;
    append_obj(facs_bytes, facs);
    write_bytes(memory, *facs_address, facs_bytes);
  }
  write_bytes(memory, madt_address, madt);
  write_bytes(memory, dsdt_address, dsdt);
  return base;
}

}  // namespace kvmm

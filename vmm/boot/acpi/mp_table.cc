#include "vmm/boot/acpi/mp_table.h"

#include <bit>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/util/error.h"
#include "base/util/format.h"
#include "vmm/boot/acpi/acpi_tables.h"

namespace kvmm {
namespace {

// The table is copied to the guest byte for byte: x86 is little-endian.
static_assert(std::endian::native == std::endian::little);

constexpr uint8_t kSpecRevision = 4;  // MP spec 1.4.
constexpr uint64_t kAlignment = 16;

// The vCPUs' and IOAPIC's version registers as KVM's in-kernel irqchip
// reports them: an integrated local APIC (0x14) and an 82093AA-style IOAPIC.
constexpr uint8_t kLocalApicVersion = 0x14;
constexpr uint8_t kIoApicVersion = 0x11;
// Family 6, model 0, stepping 0; features FPU (bit 0) and APIC (bit 9).
// Linux reads neither: CPUID is what it trusts.
constexpr uint32_t kCpuSignature = 0x600;
constexpr uint32_t kCpuFeatureFlags = (1u << 0) | (1u << 9);

constexpr uint8_t kIsaBusId = 0;
constexpr uint8_t kIsaIrqs = 16;
constexpr uint8_t kIsaCascadeIrq = 2;

#pragma pack(push, 1)

// MP Floating Pointer Structure (MP spec 1.4 §4.1, Table 4-1).
struct FloatingPointer {
  char signature[4];
  uint32_t configuration_table;
  uint8_t length;  // In 16-byte paragraphs.
  uint8_t spec_revision;
  uint8_t checksum;
  uint8_t feature1;  // 0: the configuration table is present.
  uint8_t feature2;  // Bit 7 IMCRP clear: virtual wire mode, no IMCR to program.
  uint8_t feature3_5[3];
};
static_assert(sizeof(FloatingPointer) == 16);

// MP Configuration Table Header (§4.2, Table 4-2).
struct ConfigurationHeader {
  char signature[4];
  uint16_t base_table_length;
  uint8_t spec_revision;
  uint8_t checksum;
  char oem_id[8];
  char product_id[12];
  uint32_t oem_table_pointer;
  uint16_t oem_table_size;
  uint16_t entry_count;
  uint32_t local_apic_address;
  uint16_t extended_table_length;
  uint8_t extended_table_checksum;
  uint8_t reserved;
};
static_assert(sizeof(ConfigurationHeader) == 44);

// Base table entries (§4.3), in the order the spec lists their types.
struct ProcessorEntry {  // §4.3.1
  uint8_t type = 0;
  uint8_t local_apic_id;
  uint8_t local_apic_version;
  uint8_t cpu_flags;  // Bit 0 enabled, bit 1 bootstrap processor.
  uint32_t cpu_signature;
  uint32_t feature_flags;
  uint8_t reserved[8] = {};
};
struct BusEntry {  // §4.3.2
  uint8_t type = 1;
  uint8_t bus_id;
  char bus_type[6];
};
struct IoApicEntry {  // §4.3.3
  uint8_t type = 2;
  uint8_t io_apic_id;
  uint8_t io_apic_version;
  uint8_t flags;  // Bit 0 enabled.
  uint32_t address;
};
struct InterruptEntry {  // §4.3.4 (type 3) and §4.3.5 (type 4).
  uint8_t type;
  uint8_t interrupt_type;
  uint16_t flags;  // 0: polarity and trigger conform to the bus (ISA: edge, high).
  uint8_t source_bus_id;
  uint8_t source_bus_irq;
  uint8_t destination_id;  // IOAPIC ID, or local APIC ID (0xff: all).
  uint8_t destination_pin;  // IOAPIC INTIN#, or LINTIN#.
};
static_assert(sizeof(ProcessorEntry) == 20 && sizeof(BusEntry) == 8);
static_assert(sizeof(IoApicEntry) == 8 && sizeof(InterruptEntry) == 8);

#pragma pack(pop)

constexpr uint8_t kIoInterruptEntry = 3;
constexpr uint8_t kLocalInterruptEntry = 4;
// Interrupt types (§4.3.4, Table 4-11).
constexpr uint8_t kInterruptInt = 0;
constexpr uint8_t kInterruptNmi = 1;
constexpr uint8_t kInterruptExtInt = 3;
constexpr uint8_t kCpuEnabled = 1u << 0;
constexpr uint8_t kCpuBootstrap = 1u << 1;
constexpr uint8_t kIoApicEnabled = 1u << 0;
constexpr uint8_t kAllLocalApics = 0xff;

template <typename T>
void append_obj(std::vector<uint8_t>& out, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

uint8_t checksum(std::span<const uint8_t> bytes) {
  uint8_t sum = 0;
  for (uint8_t byte : bytes) sum = static_cast<uint8_t>(sum + byte);
  return static_cast<uint8_t>(-sum);
}

// The entries after the header, and how many there are.
std::vector<uint8_t> entries(uint32_t cpus, uint16_t& count) {
  std::vector<uint8_t> out;
  count = 0;
  for (uint32_t cpu = 0; cpu < cpus; ++cpu, ++count) {
    ProcessorEntry processor{};
    processor.local_apic_id = static_cast<uint8_t>(cpu);
    processor.local_apic_version = kLocalApicVersion;
    processor.cpu_flags = kCpuEnabled | (cpu == 0 ? kCpuBootstrap : 0);
    processor.cpu_signature = kCpuSignature;
    processor.feature_flags = kCpuFeatureFlags;
    append_obj(out, processor);
  }
  BusEntry bus{};
  bus.bus_id = kIsaBusId;
  std::memcpy(bus.bus_type, "ISA   ", sizeof(bus.bus_type));
  append_obj(out, bus);
  ++count;
  const auto io_apic_id = static_cast<uint8_t>(cpus);
  append_obj(out, IoApicEntry{2, io_apic_id, kIoApicVersion, kIoApicEnabled, kIoApicAddress});
  ++count;
  // ISA IRQ n on pin n, IRQ0 included: KVM's default GSI routing wires the
  // in-kernel PIT to IOAPIC pin 0, not pin 2 as on a PC (MP spec 1.4 §5).
  // IRQ2 is the 8259 cascade: no device raises it.
  for (uint8_t irq = 0; irq < kIsaIrqs; ++irq) {
    if (irq == kIsaCascadeIrq) continue;
    const auto pin = irq;
    append_obj(out, InterruptEntry{kIoInterruptEntry, kInterruptInt, 0, kIsaBusId, irq,
                                   io_apic_id, pin});
    ++count;
  }
  // The 8259's output on LINT0 and NMI on LINT1, as every local APIC is wired.
  append_obj(out, InterruptEntry{kLocalInterruptEntry, kInterruptExtInt, 0, kIsaBusId, 0,
                                 kAllLocalApics, 0});
  append_obj(out, InterruptEntry{kLocalInterruptEntry, kInterruptNmi, 0, kIsaBusId, 0,
                                 kAllLocalApics, 1});
  count += 2;
  return out;
}

}  // namespace

void write_mp_table(const GuestMemory& memory, uint32_t cpus, GuestAddress base) {
  if (cpus == 0 || cpus > kMaxFirmwareTableCpus) {
    throw Error("the MP table cannot describe " + std::to_string(cpus) + " vCPUs: use 1 to " +
                std::to_string(kMaxFirmwareTableCpus));
  }
  if (base.value % kAlignment != 0 || base < kMpTableBase || base >= kMpTableEnd) {
    throw Error("the MP table cannot start at " + hex(base.value) +
                ": it needs a 16-byte boundary in [" + hex(kMpTableBase.value) + ", " +
                hex(kMpTableEnd.value) + ")");
  }
  uint16_t count = 0;
  const std::vector<uint8_t> body = entries(cpus, count);

  ConfigurationHeader header{};
  std::memcpy(header.signature, "PCMP", 4);
  header.base_table_length = static_cast<uint16_t>(sizeof(header) + body.size());
  header.spec_revision = kSpecRevision;
  std::memcpy(header.oem_id, "KVMM    ", sizeof(header.oem_id));
  std::memcpy(header.product_id, "KVMMVM      ", sizeof(header.product_id));
  header.entry_count = count;
  header.local_apic_address = kLocalApicAddress;
  std::vector<uint8_t> table;
  append_obj(table, header);
  table.insert(table.end(), body.begin(), body.end());
  table[offsetof(ConfigurationHeader, checksum)] = checksum(table);

  const GuestAddress table_address{base.value + sizeof(FloatingPointer)};
  if (table_address.value + table.size() > kMpTableEnd.value) {
    throw Error("the MP table for " + std::to_string(cpus) + " vCPUs runs past " +
                hex(kMpTableEnd.value) + " from " + hex(base.value) +
                ": start it lower or use fewer vCPUs");
  }

  FloatingPointer pointer{};
  std::memcpy(pointer.signature, "_MP_", 4);
  pointer.configuration_table = static_cast<uint32_t>(table_address.value);
  pointer.length = 1;
  pointer.spec_revision = kSpecRevision;
  std::vector<uint8_t> pointer_bytes;
  append_obj(pointer_bytes, pointer);
  pointer_bytes[offsetof(FloatingPointer, checksum)] = checksum(pointer_bytes);

  if (!memory.write(base, pointer_bytes) || !memory.write(table_address, table)) {
    throw Error("guest memory does not cover the MP table at " + hex(base.value) +
                ": give the guest at least 1 MiB of RAM");
  }
}

}  // namespace kvmm

#pragma once
// A small encoder for ACPI Machine Language (ACPI 6.4 §20): just the objects
// kvmm's DSDT needs — names, integers, strings, packages, scopes, devices,
// methods with a few statements, operation regions and fields, and
// resource templates. Each function returns the encoded bytes of
// one term, so a table reads like the ASL it stands for:
//
//   aml::scope("\\_SB_", {aml::device("COM1", {aml::name("_HID", aml::eisa_id("PNP0501"))})})
//
// Bad arguments (a malformed name, an IRQ list that does not fit) are kvmm
// bugs or bad configuration, never guest input; they throw Error.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace kvmm::aml {

using Bytes = std::vector<uint8_t>;

// PkgLength (§20.2.4): 1 to 4 bytes whose value counts itself and everything
// after it up to the end of the object. `encode_pkg_length` takes that value
// as is; `pkg_length` takes the size of what follows and adds its own bytes.
// Both throw when the value needs more than the 28 bits PkgLength can carry.
Bytes encode_pkg_length(uint32_t value);
Bytes pkg_length(size_t payload_size);

// NameSeg (§20.2.2): 1–4 characters, the first A–Z or '_', the rest A–Z, 0–9
// or '_', padded with '_' to four ("_S5" → "_S5_").
Bytes name_seg(std::string_view segment);
// NameString (§20.2.2): an optional root ('\') or parent ('^'...) prefix, then
// segments joined by '.', e.g. "\\_SB_.COM1". "\\" alone is the root itself.
Bytes name_string(std::string_view path);

// The shortest integer encoding (§20.2.3): ZeroOp, OneOp, then Byte, Word,
// DWord or QWord prefix. OnesOp is never used: its width depends on the DSDT
// revision.
Bytes integer(uint64_t value);
// A String (§20.2.3): printable ASCII, NUL-terminated.
Bytes string(std::string_view text);
// EISA ID compression (ACPI 6.4 §19.6, EISAID): three letters of five bits
// each and four hex digits, stored so the bytes read in the ID's order:
// "PNP0501" → 0x0105D041.
uint32_t eisa_id_value(std::string_view id);
Bytes eisa_id(std::string_view id);  // integer(eisa_id_value(id))

// Package (§20.2.5.4): up to 255 data elements.
Bytes package(const std::vector<Bytes>& elements);
// Name, Scope (§20.2.5.1) and Device (§20.2.5.2).
Bytes name(std::string_view path, const Bytes& object);
Bytes scope(std::string_view path, const std::vector<Bytes>& terms);
Bytes device(std::string_view path, const std::vector<Bytes>& terms);

// Method (§20.2.5.2): 0–7 arguments; serialized methods run one at a time.
enum class MethodSerialization : uint8_t { kNotSerialized, kSerialized };
Bytes method(std::string_view path, uint8_t argument_count, MethodSerialization serialization,
             const std::vector<Bytes>& terms);
// Return (§20.2.5.3).
Bytes return_value(const Bytes& value);
// Buffer (§20.2.5.4) holding exactly `data`.
Bytes buffer(std::span<const uint8_t> data);

// Method bodies (§20.2.5.3, §20.2.6): the few statements and expressions an
// event handler needs. A name in a term is a NameString, e.g. "\\_SB_.PWRB".
Bytes local(uint8_t index);  // Local0-Local7 (§20.2.6.2).
Bytes name_reference(std::string_view path);  // The object `path` names, as a term.
// Store (Source, Destination): Destination = Source.
Bytes store(const Bytes& source, const Bytes& destination);
// And (Left, Right) with no target: the value of Left & Right.
Bytes bitwise_and(const Bytes& left, const Bytes& right);
// If (Predicate) { terms }: the terms run when Predicate is not zero.
Bytes if_then(const Bytes& predicate, const std::vector<Bytes>& terms);
// Notify (Object, Value) (§5.6.6): e.g. 0x80 to a power button, "pressed".
Bytes notify(std::string_view object_path, uint8_t value);

// OperationRegion (§20.2.5.2, §19.6.100) and Field (§19.6.48): registers of
// a device the AML reads and writes.
enum class RegionSpace : uint8_t { kSystemMemory = 0x00, kSystemIo = 0x01 };
Bytes operation_region(std::string_view path, RegionSpace space, uint64_t offset, uint64_t length);
enum class FieldAccess : uint8_t { kAny = 0, kByte = 1, kWord = 2, kDWord = 3, kQWord = 4 };
enum class FieldUpdate : uint8_t { kPreserve = 0, kWriteAsOnes = 1, kWriteAsZeros = 2 };
struct FieldUnit {
  std::string_view name;  // One NameSeg.
  uint32_t bits = 0;
};
// Field (region) { units in order from bit 0 }, NoLock.
Bytes field(std::string_view region_path, FieldAccess access, FieldUpdate update,
            const std::vector<FieldUnit>& units);

// Resource descriptors (ACPI 6.4 §6.4), the bytes inside a ResourceTemplate.
enum class MemoryAccess : uint8_t { kReadOnly, kReadWrite };
enum class InterruptTrigger : uint8_t { kLevel, kEdge };
enum class InterruptPolarity : uint8_t { kActiveHigh, kActiveLow };
enum class InterruptSharing : uint8_t { kExclusive, kShared };

// 32-bit Fixed Memory Range Descriptor (§6.4.3.4): Memory32Fixed.
Bytes memory32_fixed(MemoryAccess access, uint32_t base, uint32_t length);
// Extended Interrupt Descriptor (§6.4.3.6), as a consumer: Interrupt(...).
Bytes interrupt(InterruptTrigger trigger, InterruptPolarity polarity, InterruptSharing sharing,
                uint32_t gsi);
// I/O Port Descriptor (§6.4.2.5) with 16-bit decode: IO(Decode16, ...).
Bytes io_port(uint16_t minimum, uint16_t maximum, uint8_t alignment, uint8_t length);
// End Tag (§6.4.2.9) closing `descriptors`, with the checksum that makes the
// whole template sum to zero.
Bytes end_tag(std::span<const uint8_t> descriptors);
// ResourceTemplate: a Buffer of the descriptors followed by their End Tag.
Bytes resource_template(const std::vector<Bytes>& descriptors);

}  // namespace kvmm::aml

#include "vmm/boot/acpi/aml.h"

#include <array>
#include <string>

#include "base/util/error.h"

namespace kvmm::aml {
namespace {

// Opcodes and prefixes (ACPI 6.4 §20.2).
constexpr uint8_t kZeroOp = 0x00;
constexpr uint8_t kOneOp = 0x01;
constexpr uint8_t kNameOp = 0x08;
constexpr uint8_t kBytePrefix = 0x0a;
constexpr uint8_t kWordPrefix = 0x0b;
constexpr uint8_t kDWordPrefix = 0x0c;
constexpr uint8_t kStringPrefix = 0x0d;
constexpr uint8_t kQWordPrefix = 0x0e;
constexpr uint8_t kScopeOp = 0x10;
constexpr uint8_t kBufferOp = 0x11;
constexpr uint8_t kPackageOp = 0x12;
constexpr uint8_t kMethodOp = 0x14;
constexpr uint8_t kLocal0Op = 0x60;
constexpr uint8_t kStoreOp = 0x70;
constexpr uint8_t kAndOp = 0x7b;
constexpr uint8_t kNotifyOp = 0x86;
constexpr uint8_t kIfOp = 0xa0;
constexpr uint8_t kOpRegionOp = 0x80;  // Follows kExtOpPrefix.
constexpr uint8_t kFieldOp = 0x81;     // Follows kExtOpPrefix.
constexpr uint8_t kDualNamePrefix = 0x2e;
constexpr uint8_t kMultiNamePrefix = 0x2f;
constexpr uint8_t kExtOpPrefix = 0x5b;
constexpr uint8_t kDeviceOp = 0x82;  // Follows kExtOpPrefix.
constexpr uint8_t kReturnOp = 0xa4;
constexpr uint8_t kNullName = 0x00;
constexpr char kRootChar = '\\';
constexpr char kParentPrefixChar = '^';

// Resource descriptor first bytes (§6.4.2 small items, §6.4.3 large items).
constexpr uint8_t kIoPortTag = 0x47;             // Small item 0x08, 7 bytes follow.
constexpr uint8_t kEndTagTag = 0x79;             // Small item 0x0f, 1 byte follows.
constexpr uint8_t kMemory32FixedTag = 0x86;      // Large item 0x06.
constexpr uint8_t kExtendedInterruptTag = 0x89;  // Large item 0x09.

// The largest value each PkgLength size can carry (§20.2.4): the lead byte
// gives 6 bits alone, or 4 bits plus 8 for each following byte.
constexpr std::array<uint32_t, 5> kPkgLengthLimit = {0, 0x3f, 0xfff, 0xfffff, 0xfffffff};

void append(Bytes& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

template <typename T>
void append_le(Bytes& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// `opcode` PkgLength `body`: the shape of every object that has a length.
Bytes with_length(std::initializer_list<uint8_t> opcode, const Bytes& body) {
  Bytes out(opcode);
  append(out, pkg_length(body.size()));
  append(out, body);
  return out;
}

Bytes join(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const Bytes& part : parts) append(out, part);
  return out;
}

bool is_lead_name_char(char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_lead_name_char(c) || (c >= '0' && c <= '9'); }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Bytes encode_pkg_length(uint32_t value) {
  if (value <= kPkgLengthLimit[1]) return {static_cast<uint8_t>(value)};
  if (value > kPkgLengthLimit[4]) {
    throw Error("AML object of " + std::to_string(value) +
                " bytes exceeds PkgLength's 28-bit limit: split it into smaller objects");
  }
  // Bits 7-6 of the lead byte count the bytes that follow; its bits 3-0 are
  // the low nibble, the following bytes the rest, least significant first.
  const uint32_t following = value <= kPkgLengthLimit[2] ? 1 : value <= kPkgLengthLimit[3] ? 2 : 3;
  Bytes out{static_cast<uint8_t>((following << 6) | (value & 0x0f))};
  for (uint32_t i = 0; i < following; ++i) out.push_back(static_cast<uint8_t>(value >> (4 + 8 * i)));
  return out;
}

Bytes pkg_length(size_t payload_size) {
  // The value counts the PkgLength's own bytes, so take the smallest size
  // whose limit still holds payload + size.
  for (uint32_t size = 1; size < kPkgLengthLimit.size(); ++size) {
    if (payload_size <= kPkgLengthLimit[size] - size) {
      return encode_pkg_length(static_cast<uint32_t>(payload_size + size));
    }
  }
  throw Error("AML object of " + std::to_string(payload_size) +
              " bytes exceeds PkgLength's 28-bit limit: split it into smaller objects");
}

Bytes name_seg(std::string_view segment) {
  bool valid = !segment.empty() && segment.size() <= 4 && is_lead_name_char(segment[0]);
  for (char c : segment) valid = valid && is_name_char(c);
  if (!valid) {
    throw Error("AML name segment \"" + std::string(segment) +
                "\" is invalid: use 1-4 characters A-Z, 0-9 or _, not starting with a digit");
  }
  Bytes out(segment.begin(), segment.end());
  out.resize(4, '_');
  return out;
}

Bytes name_string(std::string_view path) {
  Bytes out;
  std::string_view rest = path;
  if (!rest.empty() && rest.front() == kRootChar) {
    out.push_back(kRootChar);
    rest.remove_prefix(1);
  } else {
    while (!rest.empty() && rest.front() == kParentPrefixChar) {
      out.push_back(kParentPrefixChar);
      rest.remove_prefix(1);
    }
  }
  if (rest.empty()) {
    if (out.empty()) throw Error("AML name is empty: name the object");
    out.push_back(kNullName);  // "\" or "^": the prefix alone names a scope.
    return out;
  }
  std::vector<Bytes> segments;
  for (size_t start = 0;;) {
    const size_t dot = rest.find('.', start);
    segments.push_back(name_seg(rest.substr(start, dot - start)));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (segments.size() > 255) {
    throw Error("AML name \"" + std::string(path) + "\" has more than 255 segments: shorten it");
  }
  if (segments.size() == 2) out.push_back(kDualNamePrefix);
  if (segments.size() > 2) {
    out.push_back(kMultiNamePrefix);
    out.push_back(static_cast<uint8_t>(segments.size()));
  }
  append(out, join(segments));
  return out;
}

Bytes integer(uint64_t value) {
  if (value == 0) return {kZeroOp};
  if (value == 1) return {kOneOp};
  Bytes out;
  if (value <= UINT8_MAX) {
    out.push_back(kBytePrefix);
    append_le(out, static_cast<uint8_t>(value));
  } else if (value <= UINT16_MAX) {
    out.push_back(kWordPrefix);
    append_le(out, static_cast<uint16_t>(value));
  } else if (value <= UINT32_MAX) {
    out.push_back(kDWordPrefix);
    append_le(out, static_cast<uint32_t>(value));
  } else {
    out.push_back(kQWordPrefix);
    append_le(out, value);
  }
  return out;
}

Bytes string(std::string_view text) {
  // AsciiCharList (§20.2.3): 0x01-0x7f; the NUL terminates it.
  for (char c : text) {
    if (c <= 0 || static_cast<unsigned char>(c) > 0x7f) {
      throw Error("AML string \"" + std::string(text) + "\" has a NUL or non-ASCII byte: use ASCII");
    }
  }
  Bytes out;
  out.reserve(text.size() + 2);
  out.push_back(kStringPrefix);
  out.insert(out.end(), text.begin(), text.end());
  out.push_back(0);
  return out;
}

uint32_t eisa_id_value(std::string_view id) {
  bool valid = id.size() == 7;
  for (size_t i = 0; valid && i < 3; ++i) valid = id[i] >= 'A' && id[i] <= 'Z';
  for (size_t i = 3; valid && i < 7; ++i) valid = hex_digit(id[i]) >= 0;
  if (!valid) {
    throw Error("EISA ID \"" + std::string(id) +
                "\" is invalid: use three letters A-Z and four hex digits 0-9/A-F, e.g. PNP0501");
  }
  // Bit 31 reserved 0, bits 30-16 the letters ('A' is 1, five bits each),
  // bits 15-0 the product number.
  uint32_t value = 0;
  for (size_t i = 0; i < 3; ++i) value = (value << 5) | static_cast<uint32_t>(id[i] - '@');
  for (size_t i = 3; i < 7; ++i) value = (value << 4) | static_cast<uint32_t>(hex_digit(id[i]));
  // Stored big-endian, so the first letter is in the lowest byte of the integer.
  return ((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >> 8) & 0xff00) | (value >> 24);
}

Bytes eisa_id(std::string_view id) { return integer(eisa_id_value(id)); }

Bytes package(const std::vector<Bytes>& elements) {
  if (elements.size() > 255) {
    throw Error("AML package of " + std::to_string(elements.size()) +
                " elements exceeds Package's 255: split it");
  }
  Bytes body{static_cast<uint8_t>(elements.size())};  // NumElements.
  append(body, join(elements));
  return with_length({kPackageOp}, body);
}

Bytes name(std::string_view path, const Bytes& object) {
  Bytes out{kNameOp};
  append(out, name_string(path));
  append(out, object);
  return out;
}

Bytes scope(std::string_view path, const std::vector<Bytes>& terms) {
  Bytes body = name_string(path);
  append(body, join(terms));
  return with_length({kScopeOp}, body);
}

Bytes device(std::string_view path, const std::vector<Bytes>& terms) {
  Bytes body = name_string(path);
  append(body, join(terms));
  return with_length({kExtOpPrefix, kDeviceOp}, body);
}

Bytes method(std::string_view path, uint8_t argument_count, MethodSerialization serialization,
             const std::vector<Bytes>& terms) {
  if (argument_count > 7) {
    throw Error("AML method " + std::string(path) + " takes " + std::to_string(argument_count) +
                " arguments: AML allows at most 7 (Arg0-Arg6)");
  }
  Bytes body = name_string(path);
  // MethodFlags: bits 2-0 argument count, bit 3 serialized, bits 7-4 SyncLevel 0.
  const bool serialized = serialization == MethodSerialization::kSerialized;
  body.push_back(static_cast<uint8_t>(argument_count | (serialized ? 0x08 : 0)));
  append(body, join(terms));
  return with_length({kMethodOp}, body);
}

Bytes return_value(const Bytes& value) {
  Bytes out{kReturnOp};
  append(out, value);
  return out;
}

Bytes buffer(std::span<const uint8_t> data) {
  Bytes body = integer(data.size());  // BufferSize.
  append(body, data);
  return with_length({kBufferOp}, body);
}

Bytes local(uint8_t index) {
  if (index > 7) {
    throw Error("AML has Local0-Local7, not Local" + std::to_string(index) + ": use fewer locals");
  }
  return {static_cast<uint8_t>(kLocal0Op + index)};
}

Bytes name_reference(std::string_view path) { return name_string(path); }

Bytes store(const Bytes& source, const Bytes& destination) {
  Bytes out{kStoreOp};
  append(out, source);
  append(out, destination);
  return out;
}

Bytes bitwise_and(const Bytes& left, const Bytes& right) {
  Bytes out{kAndOp};
  append(out, left);
  append(out, right);
  out.push_back(kNullName);  // Target: none, the result is only the value.
  return out;
}

Bytes if_then(const Bytes& predicate, const std::vector<Bytes>& terms) {
  Bytes body = predicate;
  append(body, join(terms));
  return with_length({kIfOp}, body);
}

Bytes notify(std::string_view object_path, uint8_t value) {
  Bytes out{kNotifyOp};
  append(out, name_string(object_path));
  append(out, integer(value));
  return out;
}

Bytes operation_region(std::string_view path, RegionSpace space, uint64_t offset, uint64_t length) {
  if (length == 0 || offset > UINT64_MAX - (length - 1)) {
    throw Error("OperationRegion " + std::string(path) + " of " + std::to_string(length) +
                " bytes is empty or passes the end of its address space: fix its range");
  }
  Bytes out{kExtOpPrefix, kOpRegionOp};
  append(out, name_string(path));
  out.push_back(static_cast<uint8_t>(space));
  append(out, integer(offset));
  append(out, integer(length));
  return out;
}

Bytes field(std::string_view region_path, FieldAccess access, FieldUpdate update,
            const std::vector<FieldUnit>& units) {
  Bytes body = name_string(region_path);
  // FieldFlags: bits 3-0 AccessType, bit 4 LockRule (0: NoLock), bits 6-5
  // UpdateRule (§20.2.5.2).
  body.push_back(static_cast<uint8_t>(static_cast<uint8_t>(access) |
                                      (static_cast<uint8_t>(update) << 5)));
  for (const FieldUnit& unit : units) {
    if (unit.bits == 0) {
      throw Error("AML field unit " + std::string(unit.name) + " has no bits: give it a width");
    }
    // NamedField: a NameSeg, then the width in bits in PkgLength's encoding
    // (the value itself, not counting its own bytes).
    append(body, name_seg(unit.name));
    append(body, encode_pkg_length(unit.bits));
  }
  return with_length({kExtOpPrefix, kFieldOp}, body);
}

Bytes memory32_fixed(MemoryAccess access, uint32_t base, uint32_t length) {
  if (length == 0 || base > UINT32_MAX - (length - 1)) {
    throw Error("Memory32Fixed range at " + std::to_string(base) + " of " +
                std::to_string(length) + " bytes is empty or passes 4 GiB: place it below 4 GiB");
  }
  Bytes out{kMemory32FixedTag};
  append_le(out, uint16_t{9});  // Length of what follows.
  out.push_back(access == MemoryAccess::kReadWrite ? 1 : 0);
  append_le(out, base);
  append_le(out, length);
  return out;
}

Bytes interrupt(InterruptTrigger trigger, InterruptPolarity polarity, InterruptSharing sharing,
                uint32_t gsi) {
  Bytes out{kExtendedInterruptTag};
  append_le(out, uint16_t{6});  // Flags, table length and one interrupt number.
  // Bit 0 consumer, bit 1 edge, bit 2 active-low, bit 3 shared (§6.4.3.6).
  uint8_t flags = 0x01;
  if (trigger == InterruptTrigger::kEdge) flags |= 0x02;
  if (polarity == InterruptPolarity::kActiveLow) flags |= 0x04;
  if (sharing == InterruptSharing::kShared) flags |= 0x08;
  out.push_back(flags);
  out.push_back(1);  // Interrupt table length.
  append_le(out, gsi);
  return out;
}

Bytes io_port(uint16_t minimum, uint16_t maximum, uint8_t alignment, uint8_t length) {
  if (minimum > maximum) {
    throw Error("IO descriptor minimum " + std::to_string(minimum) + " exceeds maximum " +
                std::to_string(maximum) + ": swap them");
  }
  Bytes out{kIoPortTag, 0x01};  // Information bit 0: the device decodes 16 address bits.
  append_le(out, minimum);
  append_le(out, maximum);
  out.push_back(alignment);
  out.push_back(length);
  return out;
}

Bytes end_tag(std::span<const uint8_t> descriptors) {
  uint8_t sum = kEndTagTag;
  for (uint8_t byte : descriptors) sum = static_cast<uint8_t>(sum + byte);
  return {kEndTagTag, static_cast<uint8_t>(-sum)};
}

Bytes resource_template(const std::vector<Bytes>& descriptors) {
  Bytes data = join(descriptors);
  append(data, end_tag(data));
  return buffer(data);
}

}  // namespace kvmm::aml

#pragma once
// Guest bytes in kvmm's own log lines: a guest controls its console, its
// panic line, its disk serial reads and its MMIO writes, and must not put
// terminal escape sequences, carriage returns or fake "kvmm:" lines on the
// host's stderr. Every byte outside printable ASCII (0x20-0x7e), and the
// backslash itself (so the escaping is unambiguous), becomes `\xNN`.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace kvmm {

std::string escape_for_log(std::string_view guest_bytes);
std::string escape_for_log(std::span<const uint8_t> guest_bytes);

}  // namespace kvmm

#pragma once
// Small formatting helpers (g++ 12 has no std::format).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace kvmm {

// "0x3f8"
std::string hex(uint64_t value);
// Little-endian bytes as one hex number, e.g. {0x78,0x56} -> "0x5678".
std::string hex_le(std::span<const uint8_t> bytes);

}  // namespace kvmm

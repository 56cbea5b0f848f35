#include "base/util/log_escape.h"

namespace kvmm {

std::string escape_for_log(std::span<const uint8_t> guest_bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(guest_bytes.size());
  for (const uint8_t byte : guest_bytes) {
    if (byte >= 0x20 && byte <= 0x7e && byte != '\\') {
      out.push_back(static_cast<char>(byte));
    } else {
      out += "\\x";
      out.push_back(kDigits[byte >> 4]);
      out.push_back(kDigits[byte & 0xf]);
    }
  }
  return out;
}

std::string escape_for_log(std::string_view guest_bytes) {
  return escape_for_log(std::span(reinterpret_cast<const uint8_t*>(guest_bytes.data()),
                                  guest_bytes.size()));
}

}  // namespace kvmm

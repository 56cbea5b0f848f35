#include "app/cli/size.h"

#include <cctype>
#include <optional>
#include <string>

#include "base/util/error.h"
#include "base/util/parse.h"

namespace kvmm {

namespace {
constexpr uint64_t kMaxMemory = 1ULL << 40;  // 1 TiB: far beyond any test, below any wrap.
}

uint64_t parse_memory_size(std::string_view text) {
  const std::string shown(text);
  auto bad = [&] {
    return Error("--mem " + shown + " is not a size: use a number with K, M or G (e.g. 512M)");
  };
  const std::string_view digits = leading_digits(text);
  if (digits.empty()) throw bad();
  const std::optional<uint64_t> parsed = parse_integer<uint64_t>(digits);
  if (!parsed || *parsed > kMaxMemory) {
    throw Error("--mem " + shown + " is larger than kvmm supports (1T)");
  }
  const uint64_t number = *parsed;
  std::string_view suffix = text.substr(digits.size());
  // Accept "M", "MB", "MiB" alike, in either case.
  uint64_t unit;
  char letter = suffix.empty() ? 'M' : static_cast<char>(std::toupper(suffix[0]));
  std::string_view rest = suffix.empty() ? suffix : suffix.substr(1);
  if (rest != "" && rest != "B" && rest != "b" && rest != "iB" && rest != "ib") throw bad();
  switch (letter) {
    case 'K': unit = 1ULL << 10; break;
    case 'M': unit = 1ULL << 20; break;
    case 'G': unit = 1ULL << 30; break;
    case 'T': unit = 1ULL << 40; break;
    default: throw bad();
  }
  if (number == 0) throw Error("--mem must be more than 0: give e.g. --mem 256M");
  if (number > kMaxMemory / unit) throw Error("--mem " + shown + " is larger than kvmm supports (1T)");
  const uint64_t bytes = number * unit;
  if (bytes % 4096 != 0) throw Error("--mem " + shown + " is not a multiple of 4K: round it up");
  return bytes;
}

}  // namespace kvmm

#pragma once
// The parsing primitives every command-line and /proc parser shares: one
// integer parser on std::from_chars and one splitter for "a,b,key=value"
// lists. Callers keep their own messages; these only say whether the text is
// well formed.
#include <charconv>
#include <concepts>
#include <optional>
#include <string_view>
#include <vector>

namespace kvmm {

// The whole of `text` as a T in `base` (10, or 16 without a "0x" prefix).
// nullopt for an empty text, a sign on an unsigned T, a '+', spaces, trailing
// characters, or a value that does not fit in T.
template <std::integral T>
std::optional<T> parse_integer(std::string_view text, int base = 10) {
  T value{};
  const char* const end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value, base);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

// The decimal digits at the start of `text` ("123" of "123 45").
std::string_view leading_digits(std::string_view text);

// Every field between separators, empty ones included: "a,,b" -> {"a", "", "b"},
// "" -> {""}.
std::vector<std::string_view> split(std::string_view text, char separator);

// One field of a "key=value,flag" list.
struct KeyValue {
  std::string_view field;                 // The whole field: "serial=abc".
  std::string_view key;                   // Before the first '=': "serial".
  std::optional<std::string_view> value;  // After it; nullopt without '='.
};

// Splits at `separator`, then each field at its first '='.
std::vector<KeyValue> split_key_values(std::string_view text, char separator = ',');

}  // namespace kvmm

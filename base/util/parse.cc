#include "base/util/parse.h"

namespace kvmm {

std::string_view leading_digits(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  return text.substr(0, digits);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> fields;
  for (;;) {
    const size_t at = text.find(separator);
    fields.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return fields;
    text.remove_prefix(at + 1);
  }
}

std::vector<KeyValue> split_key_values(std::string_view text, char separator) {
  std::vector<KeyValue> pairs;
  for (const std::string_view field : split(text, separator)) {
    const size_t equals = field.find('=');
    KeyValue pair{field, field.substr(0, equals), std::nullopt};
    if (equals != std::string_view::npos) pair.value = field.substr(equals + 1);
    pairs.push_back(pair);
  }
  return pairs;
}

}  // namespace kvmm

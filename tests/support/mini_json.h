#pragma once
// A small JSON reader for tests that check what kvmm writes (bench reports):
// the whole of RFC 8259 except \u escapes beyond ASCII. Throws
// std::runtime_error on malformed input, so a broken report fails the test.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kvmm::testing {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<JsonValue> items;
  std::map<std::string, JsonValue> members;

  bool has(const std::string& key) const { return members.count(key) != 0; }
  // Throws std::runtime_error when missing, naming the key.
  const JsonValue& at(const std::string& key) const;
};

JsonValue parse_json(std::string_view text);

}  // namespace kvmm::testing

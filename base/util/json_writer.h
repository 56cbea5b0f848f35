#pragma once
// kvmm's one JSON emitter: the bench reports and `--stats` files.
//
// Why not nlohmann::json (the team's JSON library, used by the tests to read
// these files): its dump() puts every array element and member on its own
// line, and our reports keep short arrays and summaries on one line (`[1, 2]`,
// one line per vCPU) that scripts and tests read line by line; numbers are
// fixed-point with at most three decimals so the files diff cleanly.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvmm {

// JSON string escaping (RFC 8259 §7), with the quotes.
std::string json_quote(std::string_view text);

// Streaming JSON. A block container (the default) is indented two spaces per
// level with one member or element per line; an inline container and
// everything in it stays on one line: `{"a": 1, "b": [2, 3]}`. Misuse (a value
// without a key inside an object, unbalanced ends) is a programming error and
// throws Error.
class JsonWriter {
 public:
  enum class Layout { kBlock, kInline };
  // A number with exactly `decimals` decimals ("0.750"), for reports whose
  // columns keep their width; non-finite numbers become null.
  struct Fixed {
    double number;
    int decimals;
  };

  JsonWriter& begin_object(Layout layout = Layout::kBlock);
  JsonWriter& end_object();
  JsonWriter& begin_array(Layout layout = Layout::kBlock);
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(uint64_t number);
  JsonWriter& value(int64_t number);
  JsonWriter& value(uint32_t number) { return value(uint64_t{number}); }
  JsonWriter& value(int32_t number) { return value(int64_t{number}); }
  // Fixed notation, at most three decimals, trailing zeros dropped; non-finite
  // numbers become null.
  JsonWriter& value(double number);
  JsonWriter& value(Fixed fixed);
  JsonWriter& value(bool flag);
  JsonWriter& null();
  template <typename T>
  JsonWriter& member(std::string_view name, T v) {
    return key(name).value(v);
  }
  JsonWriter& member_null(std::string_view name) { return key(name).null(); }

  // The document with a final newline; throws Error if a container is still open.
  std::string finish();

 private:
  struct Level {
    bool is_object;
    bool is_inline;
    bool empty = true;
  };
  JsonWriter& open(char bracket, bool is_object, Layout layout);
  JsonWriter& close(char bracket, bool is_object);
  void before_value();
  void separate();  // Before a member or element: the comma, then a newline or a space.
  bool inline_now() const { return !stack_.empty() && stack_.back().is_inline; }

  std::string out_;
  std::vector<Level> stack_;
  bool have_key_ = false;
};

}  // namespace kvmm

#pragma once
// The output formats every `kvmm bench` shares: a small JSON writer, CSV
// rows, aligned text tables, and writing a report file with a clear error.
// Dependency-free on purpose: the reports are flat and a few hundred lines
// of JSON at most, which does not justify a JSON library.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/util/format.h"  // json_quote

namespace kvmm {

// Streaming JSON, indented two spaces, one member per line. Misuse (a value
// without a key inside an object, unbalanced ends) is a programming error
// and throws Error.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(uint64_t number);
  JsonWriter& value(int64_t number);
  JsonWriter& value(double number);  // Non-finite numbers become null.
  JsonWriter& value(bool flag);
  JsonWriter& null();
  template <typename T>
  JsonWriter& member(std::string_view name, T v) { return key(name).value(v); }
  JsonWriter& member_null(std::string_view name) { return key(name).null(); }

  // The document; throws Error if an object or array is still open.
  std::string finish();

 private:
  struct Level {
    bool is_object;
    bool empty = true;
  };
  void before_value();
  void newline();

  std::string out_;
  std::vector<Level> stack_;
  bool have_key_ = false;
};

// One CSV record (RFC 4180): fields with a comma, quote or line break are
// quoted, quotes doubled; ends with "\n".
std::string csv_row(const std::vector<std::string>& fields);

// A text table: the first column left-aligned, the others right-aligned.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string format() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "12.3"-style fixed formatting with `decimals` digits.
std::string format_fixed(double value, int decimals);

// Throws Error("cannot write the <what> file PATH: <reason>: <fix>") unless
// PATH can be created or overwritten; for checking every output before a
// long run rather than failing after it. Creates nothing.
void check_output_writable(const std::string& path, std::string_view what);
// Writes `text` to PATH (truncating); throws Error like the above.
void write_output_file(const std::string& path, std::string_view text, std::string_view what);

}  // namespace kvmm

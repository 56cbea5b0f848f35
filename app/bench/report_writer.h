#pragma once
// The output formats every `kvmm bench` shares: JSON (base/util/json_writer.h),
// CSV rows, aligned text tables, and writing a report file with a clear error.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/util/json_writer.h"

namespace kvmm {

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

#include "app/bench/report_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/util/error.h"

namespace kvmm {

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  stack_.push_back({true});
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ += '[';
  stack_.push_back({false});
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  if (stack_.empty() || !stack_.back().is_object || have_key_) {
    throw Error("internal error: unbalanced JSON object");
  }
  const bool empty = stack_.back().empty;
  stack_.pop_back();
  if (!empty) newline();
  out_ += '}';
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  if (stack_.empty() || stack_.back().is_object) throw Error("internal error: unbalanced JSON array");
  const bool empty = stack_.back().empty;
  stack_.pop_back();
  if (!empty) newline();
  out_ += ']';
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  if (stack_.empty() || !stack_.back().is_object || have_key_) {
    throw Error("internal error: JSON key outside an object");
  }
  if (!stack_.back().empty) out_ += ',';
  stack_.back().empty = false;
  newline();
  out_ += json_quote(name);
  out_ += ": ";
  have_key_ = true;
  return *this;
}

void JsonWriter::before_value() {
  if (stack_.empty()) {
    if (!out_.empty()) throw Error("internal error: two JSON documents");
    return;
  }
  if (stack_.back().is_object) {
    if (!have_key_) throw Error("internal error: JSON value without a key");
    have_key_ = false;
    return;
  }
  if (!stack_.back().empty) out_ += ',';
  stack_.back().empty = false;
  newline();
}

void JsonWriter::newline() {
  out_ += '\n';
  out_.append(stack_.size() * 2, ' ');
}

JsonWriter& JsonWriter::value(std::string_view text) {
  before_value();
  out_ += json_quote(text);
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t number) {
  before_value();
  out_ += std::to_string(number);
  return *this;
}

JsonWriter& JsonWriter::value(int64_t number) {
  before_value();
  out_ += std::to_string(number);
  return *this;
}

JsonWriter& JsonWriter::value(double number) {
  before_value();
  if (!std::isfinite(number)) {
    out_ += "null";
    return *this;
  }
  // Fixed notation, three decimals at most: latencies in cycles and ns need
  // no more, and no exponent keeps the files easy to read and diff.
  char text[64];
  std::snprintf(text, sizeof text, "%.3f", number);
  std::string formatted = text;
  while (formatted.back() == '0') formatted.pop_back();
  if (formatted.back() == '.') formatted.pop_back();
  if (formatted == "-0") formatted = "0";
  out_ += formatted;
  return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
  before_value();
  out_ += flag ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

std::string JsonWriter::finish() {
  if (!stack_.empty() || have_key_) throw Error("internal error: unfinished JSON document");
  return out_ + '\n';
}


std::string csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    const std::string& field = fields[i];
    if (field.find_first_of(",\"\r\n") == std::string::npos) {
      out += field;
      continue;
    }
    out += '"';
    for (const char c : field) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out + '\n';
}

std::string TextTable::format() const {
  std::vector<size_t> widths(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  widen(header_);
  for (const auto& row : rows_) widen(row);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(widths[i] - cell.size(), ' ');
      if (i > 0) out += "  ";
      out += i == 0 ? cell + pad : pad + cell;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + '\n';
  };
  std::string out = line(header_);
  for (const auto& row : rows_) out += line(row);
  return out;
}

std::string format_fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

void check_output_writable(const std::string& path, std::string_view what) {
  const std::string prefix = "cannot write the " + std::string(what) + " file " + path + ": ";
  if (path.empty()) throw Error("the " + std::string(what) + " file name is empty: give a path");
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::is_directory(path, error)) {
    throw Error(prefix + "it is a directory: give a file name");
  }
  if (fs::exists(path, error)) {
    if (::access(path.c_str(), W_OK) != 0) {
      throw Error(prefix + strerrordesc_np(errno) + ": check its permissions or pick another path");
    }
    return;
  }
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, error)) {
    throw Error(prefix + "directory " + dir.string() + " does not exist: create it first");
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw Error(prefix + "directory " + dir.string() + " is not writable (" +
                strerrordesc_np(errno) + "): pick another path");
  }
}

void write_output_file(const std::string& path, std::string_view text, std::string_view what) {
  check_output_writable(path, what);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(text.data(), static_cast<std::streamsize>(text.size()));
  file.close();
  if (!file) {
    throw Error("cannot write the " + std::string(what) + " file " + path +
                ": the write failed (disk full?): free space or pick another path");
  }
}

}  // namespace kvmm

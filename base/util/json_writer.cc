#include "base/util/json_writer.h"

#include <cmath>
#include <cstdio>

#include "base/util/error.h"

namespace kvmm {

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escape[8];
          std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
          out += escape;
        } else {
          out += c;
        }
    }
  }
  return out + '"';
}

JsonWriter& JsonWriter::open(char bracket, bool is_object, Layout layout) {
  before_value();
  out_ += bracket;
  // Everything inside an inline container is inline too.
  stack_.push_back({is_object, layout == Layout::kInline || inline_now()});
  return *this;
}

JsonWriter& JsonWriter::close(char bracket, bool is_object) {
  if (stack_.empty() || stack_.back().is_object != is_object || have_key_) {
    throw Error(is_object ? "internal error: unbalanced JSON object"
                          : "internal error: unbalanced JSON array");
  }
  const Level level = stack_.back();
  stack_.pop_back();
  if (!level.empty && !level.is_inline) {
    out_ += '\n';
    out_.append(stack_.size() * 2, ' ');
  }
  out_ += bracket;
  return *this;
}

JsonWriter& JsonWriter::begin_object(Layout layout) { return open('{', true, layout); }
JsonWriter& JsonWriter::begin_array(Layout layout) { return open('[', false, layout); }
JsonWriter& JsonWriter::end_object() { return close('}', true); }
JsonWriter& JsonWriter::end_array() { return close(']', false); }

void JsonWriter::separate() {
  Level& level = stack_.back();
  if (level.is_inline) {
    if (!level.empty) out_ += ", ";
  } else {
    if (!level.empty) out_ += ',';
    out_ += '\n';
    out_.append(stack_.size() * 2, ' ');
  }
  level.empty = false;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  if (stack_.empty() || !stack_.back().is_object || have_key_) {
    throw Error("internal error: JSON key outside an object");
  }
  separate();
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
  separate();
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
  // Three decimals at most: latencies in cycles and ns and shares need no
  // more, and no exponent keeps the files easy to read and diff.
  char text[64];
  std::snprintf(text, sizeof text, "%.3f", number);
  std::string formatted = text;
  while (formatted.back() == '0') formatted.pop_back();
  if (formatted.back() == '.') formatted.pop_back();
  if (formatted == "-0") formatted = "0";
  out_ += formatted;
  return *this;
}

JsonWriter& JsonWriter::value(Fixed fixed) {
  before_value();
  if (!std::isfinite(fixed.number)) {
    out_ += "null";
    return *this;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", fixed.decimals, fixed.number);
  out_ += text;
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

}  // namespace kvmm

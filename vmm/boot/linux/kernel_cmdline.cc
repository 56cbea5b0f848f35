#include "vmm/boot/linux/kernel_cmdline.h"

#include "base/util/error.h"

namespace kvmm {

namespace {

// What Linux's next_arg() (lib/cmdline.c) skips between parameters.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

KernelCmdline::KernelCmdline(std::string_view text) : text_(text) {
  // User-controlled.
  if (text_.find('\0') != std::string::npos) {
    throw Error("--cmdline contains a NUL byte, which would end it early: remove it");
  }
  if (text_.find('\n') != std::string::npos) {
    throw Error("--cmdline contains a newline: separate the parameters with spaces");
  }
}

void KernelCmdline::add(std::string_view param) {
  bool valid = !param.empty();
  for (char c : param) valid = valid && c != '\0' && !is_space(c);
  if (!valid) {
    std::string shown;
    for (char c : param) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
    throw Error("kernel command-line parameter \"" + shown +
                "\" is empty or holds whitespace or a NUL: this is a kvmm bug");
  }
  if (!text_.empty()) text_ += ' ';
  text_ += param;
}

bool KernelCmdline::has(std::string_view param) const {
  return any_param([param](std::string_view found) { return found == param; });
}

bool KernelCmdline::has_key(std::string_view key) const {
  return !key.empty() && any_param([key](std::string_view found) {
    return found.starts_with(key) && (found.size() == key.size() || found[key.size()] == '=');
  });
}

bool KernelCmdline::any_param(const std::function<bool(std::string_view)>& match) const {
  // Parameters as lib/cmdline.c's next_arg() splits them: at whitespace
  // outside double quotes.
  size_t pos = 0;
  while (pos < text_.size()) {
    while (pos < text_.size() && is_space(text_[pos])) ++pos;
    const size_t start = pos;
    bool quoted = false;
    while (pos < text_.size() && (quoted || !is_space(text_[pos]))) {
      if (text_[pos] == '"') quoted = !quoted;
      ++pos;
    }
    if (pos > start && match(std::string_view(text_).substr(start, pos - start))) return true;
  }
  return false;
}

void KernelCmdline::check_length(uint64_t max_length) const {
  if (text_.size() > max_length) {
    throw Error("--cmdline is " + std::to_string(text_.size()) +
                " bytes; this kernel accepts at most " + std::to_string(max_length) +
                ": shorten it");
  }
}

std::string join_cmdline(std::string_view base, std::string_view append) {
  std::string line(base);
  if (!line.empty() && !append.empty()) line += ' ';
  line += append;
  return line;
}

}  // namespace kvmm

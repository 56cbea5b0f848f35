#pragma once
// The kernel command line as a value (rust-vmm linux-loader's Cmdline): the
// user's --cmdline, then the parameters kvmm adds, each checked as it comes
// in, so what reaches guest memory is one line the kernel parses as meant.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace kvmm {

class KernelCmdline {
 public:
  // The user's --cmdline. Throws Error when it holds a NUL byte (which would
  // end it early) or a newline (one line of printable text is what boot
  // loaders pass, and what linux-loader's Cmdline accepts).
  explicit KernelCmdline(std::string_view text);

  // Appends one parameter, "key" or "key=value", after a space. Throws Error
  // when `param` is empty or holds whitespace or a NUL: a kvmm bug.
  void add(std::string_view param);

  // Whether `param` ("acpi=off", "quiet") is one of the parameters, whole:
  // "noacpi=off" or acpi=off inside a quoted value is not.
  bool has(std::string_view param) const;
  // Whether a parameter is `key` or `key=...` ("console" finds
  // console=ttyS0): whole parameters, as has() splits them.
  bool has_key(std::string_view key) const;

  // Throws Error for the user when the line is longer than `max_length`
  // bytes, the NUL excluded (the bzImage's cmdline_size).
  void check_length(uint64_t max_length) const;

  const std::string& str() const { return text_; }
  size_t size() const { return text_.size(); }

 private:
  // Calls `match` on each parameter until it returns true.
  bool any_param(const std::function<bool(std::string_view)>& match) const;

  std::string text_;
};

// `base`, then `append` after a space (either may be empty): --cmdline (or
// the default line) and --append, as kvmtool's -p adds to its line.
std::string join_cmdline(std::string_view base, std::string_view append);

}  // namespace kvmm

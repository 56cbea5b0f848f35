#pragma once
// Walks the "--name value" and "--name=value" arguments of one subcommand,
// for the option tables' parser (option_table.h). Throws UsageError.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/util/error.h"

namespace kvmm {

class ArgReader {
 public:
  // `command` names the subcommand in errors, e.g. "run" or "bench exits".
  ArgReader(std::string_view command, std::span<const std::string_view> args)
      : name_(command.empty() ? "kvmm" : "kvmm " + std::string(command)),
        args_(args),
        help_("see " + name_ + " --help") {}

  bool done() const { return next_ >= args_.size(); }
  // The next argument, not taken (only when !done()).
  std::string_view peek() const { return args_[next_]; }
  // Takes the argument peek() returned (an operand, not an option).
  void skip() { ++next_; }

  // The next option's name ("--mem"); splits off an inline "=value".
  std::string_view next_option() {
    std::string_view arg = args_[next_++];
    inline_value_.reset();
    if (!arg.starts_with("--")) {
      throw UsageError(name_ + ": unexpected argument '" +
                       std::string(arg) + "': " + help_);
    }
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      inline_value_ = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    return arg;
  }

  std::string_view value(std::string_view option) {
    if (inline_value_) return *std::exchange(inline_value_, std::nullopt);
    if (done()) throw UsageError(std::string(option) + " needs a value: " + help_);
    return args_[next_++];
  }

  // The inline "=value" if there is one: for options whose value is optional.
  std::optional<std::string_view> optional_value() {
    return std::exchange(inline_value_, std::nullopt);
  }

  void no_value(std::string_view option) const {
    if (inline_value_) throw UsageError(std::string(option) + " takes no value");
  }

  // `meant`: the option the user most likely meant ("" when none is close).
  [[noreturn]] void unknown(std::string_view option, std::string_view meant = {}) const {
    const std::string guess = meant.empty() ? "" : "did you mean " + std::string(meant) + "? ";
    throw UsageError(name_ + ": unknown option " + std::string(option) + ": " + guess + help_);
  }

 private:
  std::string name_;  // "kvmm run"
  std::span<const std::string_view> args_;
  size_t next_ = 0;
  std::optional<std::string_view> inline_value_;
  std::string help_;  // "see kvmm run --help"
};

}  // namespace kvmm

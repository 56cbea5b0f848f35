#pragma once
// Errors that travel up to main(): each message says what failed and, where
// there is one, the fix. main() prints it as one line and exits non-zero.
#include <stdexcept>
#include <string>

namespace kvmm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bad command line: an unknown option, a bad value, a missing required
// option. main() exits with status 2 for it (1 for any other Error).
class UsageError : public Error {
 public:
  using Error::Error;
};

// Throws Error("<what>: <strerror(errno)>"). Captures errno first, so callers
// can build `what` with calls that might clobber it.
[[noreturn]] void throw_errno(const std::string& what);
[[noreturn]] void throw_errno(const std::string& what, int saved_errno);

}  // namespace kvmm

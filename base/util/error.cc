#include "base/util/error.h"

#include <cerrno>
#include <cstring>

namespace kvmm {

void throw_errno(const std::string& what) { throw_errno(what, errno); }

void throw_errno(const std::string& what, int saved_errno) {
  throw Error(what + ": " + std::strerror(saved_errno));
}

}  // namespace kvmm

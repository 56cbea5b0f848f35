#include "base/util/output_file.h"

#include <fcntl.h>

#include <cerrno>

#include "base/util/error.h"

namespace kvmm {

UniqueFd open_output_file(const std::string& path, const std::string& what, bool append) {
  const int mode = append ? O_APPEND : O_TRUNC;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | mode | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (fd.valid()) return fd;
  if (errno == ELOOP) {
    throw Error(what + " " + path + " is a symbolic link, which kvmm does not follow for files it "
                "writes: give the path of the file itself");
  }
  throw_errno("cannot create " + what + " " + path + " (check the directory)");
}

}  // namespace kvmm

#pragma once
// Files kvmm writes on the user's behalf (--exit-log, --stats-file): created
// or truncated, never through a symbolic link. kvmm may run with more
// privilege than whoever can put a link in the directory; following one
// would let them point kvmm's output at any file it can write.
#include <string>

#include "base/util/unique_fd.h"

namespace kvmm {

// Opens `path` write-only with O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC
// (mode 0644 before the umask). Throws Error, one line naming `what` and the
// path: a symbolic link is refused as such, anything else with the reason.
// With `append`, O_APPEND instead of O_TRUNC (a console log kept across runs).
UniqueFd open_output_file(const std::string& path, const std::string& what, bool append = false);

}  // namespace kvmm

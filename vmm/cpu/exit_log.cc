#include "vmm/cpu/exit_log.h"

#include <fcntl.h>

#include "base/util/error.h"
#include "base/util/output_file.h"

namespace kvmm {

ExitLog::ExitLog(const std::string& path) {
  if (path == "-") {
    file_ = stderr;
    owned_ = false;
    return;
  }
  const UniqueFd fd = open_output_file(path, "exit log");
  // The FILE gets its own descriptor (close-on-exec like the first).
  const int own = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);
  if (own < 0) throw_errno("cannot create exit log " + path);
  file_ = ::fdopen(own, "w");
  if (file_ == nullptr) {
    const int err = errno;
    ::close(own);
    throw_errno("cannot create exit log " + path, err);
  }
  owned_ = true;
}

ExitLog::~ExitLog() {
  if (owned_) std::fclose(file_);
}

void ExitLog::record(uint32_t vcpu, std::string_view line) {
  std::lock_guard lock(mutex_);
  std::fprintf(file_, "vcpu%u %.*s\n", vcpu, static_cast<int>(line.size()), line.data());
  std::fflush(file_);  // A crash must not lose the exits that led to it.
}

}  // namespace kvmm

#include "vmm/cpu/exit_log.h"

#include "base/util/error.h"

namespace kvmm {

ExitLog::ExitLog(const std::string& path) {
  if (path == "-") {
    file_ = stderr;
    owned_ = false;
    return;
  }
  file_ = std::fopen(path.c_str(), "we");
  if (file_ == nullptr) throw_errno("cannot create exit log " + path + " (check the directory)");
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

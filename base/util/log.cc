#include "base/util/log.h"

#include <unistd.h>

#include <string>

namespace kvmm {

void log_line(std::string_view message) {
  // One write(2) per line so lines from different vCPU threads never interleave.
  std::string line = "kvmm: ";
  line.append(message);
  line.push_back('\n');
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;  // Nowhere else to report a failing stderr.
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace kvmm

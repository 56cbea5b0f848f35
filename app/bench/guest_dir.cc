#include "app/bench/guest_dir.h"

#include <string>

#include "base/util/error.h"
#include "base/util/install_paths.h"

#ifndef KVMM_INSTALL_GUEST_DIR
#define KVMM_INSTALL_GUEST_DIR ""
#endif

namespace kvmm {

std::vector<std::filesystem::path> guest_search_dirs() {
  return shipped_file_dirs("KVMM_GUEST_DIR", "guest", "lib/kvmm/guest", KVMM_INSTALL_GUEST_DIR);
}

std::filesystem::path find_guest(std::string_view name, std::string_view what) {
  const std::vector<std::filesystem::path> dirs = guest_search_dirs();
  std::string looked;
  for (const std::filesystem::path& dir : dirs) {
    std::error_code error;
    if (std::filesystem::is_regular_file(dir / name, error)) return dir / name;
    looked += (looked.empty() ? "" : ", ") + dir.string();
  }
  throw Error(std::string(what) + " guest " + std::string(name) + " was not found (looked in " +
              (looked.empty() ? std::string("no directory") : looked) +
              "): build it with cmake --build build, or set KVMM_GUEST_DIR");
}

}  // namespace kvmm

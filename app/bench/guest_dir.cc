#include "app/bench/guest_dir.h"

#include <cstdlib>
#include <string>

#include "base/util/error.h"

#ifndef KVMM_INSTALL_GUEST_DIR
#define KVMM_INSTALL_GUEST_DIR ""
#endif

namespace kvmm {

std::vector<std::filesystem::path> guest_search_dirs() {
  if (const char* env = std::getenv("KVMM_GUEST_DIR"); env != nullptr && *env != '\0') {
    return {env};
  }
  std::vector<std::filesystem::path> dirs;
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    dirs.push_back(self.parent_path() / "guest");
    dirs.push_back((self.parent_path() / ".." / "lib" / "kvmm" / "guest").lexically_normal());
  }
  if (*KVMM_INSTALL_GUEST_DIR != '\0') dirs.emplace_back(KVMM_INSTALL_GUEST_DIR);
  return dirs;
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

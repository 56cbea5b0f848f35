#include "base/util/install_paths.h"

#include <cstdlib>

namespace kvmm {

std::vector<std::filesystem::path> shipped_file_dirs(const char* env_var,
                                                     std::string_view build_subdir,
                                                     std::string_view install_subdir,
                                                     std::string_view configured) {
  if (const char* env = env_var != nullptr ? std::getenv(env_var) : nullptr;
      env != nullptr && *env != '\0') {
    return {env};
  }
  std::vector<std::filesystem::path> dirs;
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    dirs.push_back((self.parent_path() / build_subdir).lexically_normal());
    dirs.push_back((self.parent_path() / ".." / install_subdir).lexically_normal());
  }
  if (!configured.empty()) dirs.emplace_back(configured);
  return dirs;
}

}  // namespace kvmm

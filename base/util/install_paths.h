#pragma once
// Where kvmm finds the files it ships beside its executable (the nasm
// guests of `kvmm bench`, the HTTP module): $ENV_VAR alone when it is set
// (`env_var` may be null); otherwise BUILD_SUBDIR beside the running
// executable (the build tree, build/kvmm), INSTALL_SUBDIR from the
// executable's parent directory (an installed kvmm: P/bin/kvmm,
// P/lib/kvmm/...), then `configured`, the directory kvmm was configured to
// install to ("" for none).
#include <filesystem>
#include <string_view>
#include <vector>

namespace kvmm {

std::vector<std::filesystem::path> shipped_file_dirs(const char* env_var,
                                                     std::string_view build_subdir,
                                                     std::string_view install_subdir,
                                                     std::string_view configured);

}  // namespace kvmm

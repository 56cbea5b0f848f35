#include "app/api/run_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/util/error.h"

namespace kvmm {

std::filesystem::path run_dir() {
  if (const char* dir = std::getenv("KVMM_RUN_DIR"); dir != nullptr && *dir != '\0') return dir;
  if (::geteuid() == 0) return "/run/kvmm";
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg == '/') {
    return std::filesystem::path(xdg) / "kvmm";
  }
  throw Error("XDG_RUNTIME_DIR is not set, so kvmm has no directory for its API sockets: log in "
              "through a session that sets it, or set KVMM_RUN_DIR to a private directory");
}

void ensure_private_dir(const std::filesystem::path& dir) {
  const std::string text = dir.string();
  if (::mkdir(text.c_str(), 0700) != 0 && errno == ENOENT) {
    // A parent is missing (a fresh /run/kvmm's /run always exists; a test's
    // KVMM_RUN_DIR may not): make it, private too.
    ensure_private_dir(dir.parent_path());
    ::mkdir(text.c_str(), 0700);
  }
  struct stat st {};
  if (::lstat(text.c_str(), &st) != 0) throw_errno("cannot create the directory " + text);
  if (!S_ISDIR(st.st_mode)) {
    throw Error(text + " is not a directory (a symbolic link or a file is in the way): remove it");
  }
  if (st.st_uid != ::geteuid()) {
    throw Error(text + " belongs to uid " + std::to_string(st.st_uid) + ", not to this user (" +
                std::to_string(::geteuid()) + "): use a directory of your own (KVMM_RUN_DIR)");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", st.st_mode & 0777);
    throw Error(text + " may be entered by other users (mode " + mode + "): chmod 700 " + text);
  }
}

void check_vm_name(std::string_view name) {
  const auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  };
  bool ok = !name.empty() && name.size() <= 64 && name.front() != '.' && name.front() != '-';
  for (char c : name) ok = ok && allowed(c);
  if (!ok) {
    throw Error("bad VM name '" + std::string(name.substr(0, 64)) +
                "': use 1-64 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
  }
}

std::filesystem::path socket_path_for(std::string_view name) {
  check_vm_name(name);
  return run_dir() / (std::string(name) + ".sock");
}

}  // namespace kvmm

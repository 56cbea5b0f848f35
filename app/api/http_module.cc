#include "app/api/http_module.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/util/error.h"
#include "base/util/install_paths.h"
#include "base/util/shared_library.h"

namespace kvmm {

namespace {

constexpr const char* kModuleFile = "kvmm-http.so";

std::vector<std::filesystem::path> candidates() {
  // KVMM_HTTP_MODULE names the file itself, not a directory.
  if (const char* forced = std::getenv("KVMM_HTTP_MODULE"); forced != nullptr && *forced != '\0') {
    return {forced};
  }
  std::vector<std::filesystem::path> paths;
  for (const std::filesystem::path& dir :
       shipped_file_dirs(nullptr, "", "lib/kvmm", KVMM_INSTALL_HTTP_MODULE_DIR)) {
    paths.push_back(dir / kModuleFile);
  }
  return paths;
}

std::mutex g_mutex;
const HttpModule* g_loaded = nullptr;          // Guarded by g_mutex.
std::optional<std::filesystem::path> g_found;  // Guarded by g_mutex.
std::string g_tried;                           // Guarded by g_mutex.

// Sets g_found, or g_tried to the paths looked at.
void locate_locked() {
  if (g_found || !g_tried.empty()) return;
  for (const std::filesystem::path& path : candidates()) {
    std::error_code error;
    if (std::filesystem::exists(path, error)) {
      g_found = path;
      return;
    }
    g_tried += (g_tried.empty() ? "" : ", ") + path.string();
  }
}

const HttpModule& load() {
  locate_locked();
  if (g_found) {
    const std::filesystem::path& path = *g_found;
    // Never unloaded: its code serves the API until kvmm exits.
    static const SharedLibrary library(
        path.string(), "reinstall kvmm (its libcpp-httplib dependency may be missing)");
    using Entry = const HttpModule* (*)();
    const HttpModule* module = library.symbol<Entry>(kHttpModuleSymbol)();
    if (module == nullptr || module->abi != kHttpModuleAbi ||
        std::string(module->version) != KVMM_VERSION) {
      throw Error(path.string() + " is not the HTTP module of this kvmm (" KVMM_VERSION
                  "): rebuild or reinstall kvmm so that both come from one build");
    }
    return *module;
  }
  throw Error("kvmm's HTTP module " + std::string(kModuleFile) + " is missing (looked for " +
              g_tried + "): build it with kvmm (cmake --build) or reinstall kvmm");
}

}  // namespace

void locate_http_module() {
  std::lock_guard lock(g_mutex);
  locate_locked();
}

const HttpModule& http_module() {
  // A failure is thrown again on every call (each caller reports it).
  std::lock_guard lock(g_mutex);
  if (g_loaded == nullptr) g_loaded = &load();
  return *g_loaded;
}

std::unique_ptr<HttpApi> load_http_api(HttpApiSetup setup) {
  return http_module().make_api(std::move(setup));
}

}  // namespace kvmm

// kvmm-http.so's one exported symbol (http_api.h): kvmm finds it with
// dlsym and checks the ABI and version before calling anything else.
#include "app/api/http/api_router.h"

extern "C" __attribute__((visibility("default"))) const kvmm::HttpModule* kvmm_http_module() {
  static const kvmm::HttpModule module{kvmm::kHttpModuleAbi, KVMM_VERSION, kvmm::make_http_api,
                                       kvmm::http_call};
  return &module;
}

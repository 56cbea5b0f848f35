#pragma once
// Loads kvmm-http.so (http_api.h), once per process, the first time kvmm
// speaks HTTP: the API thread on its first client, `kvmm list|info|…` on
// their first request. It is looked for beside the kvmm executable (the
// build tree), in ../lib/kvmm from it (an installed kvmm), then in the
// directory kvmm was configured to install it to; KVMM_HTTP_MODULE, a path,
// overrides the search.
#include <memory>

#include "app/api/http_api.h"

namespace kvmm {

// Finds the module's file without loading it, for a thread whose seccomp
// filter will not let it search (/proc/self/exe): the API thread's. Never
// throws; http_module() reports a module not found.
void locate_http_module();

// Throws Error naming what is missing or wrong (no module, a module from
// another build) and the fix.
const HttpModule& http_module();

// http_module().make_api(setup): the API server's factory.
std::unique_ptr<HttpApi> load_http_api(HttpApiSetup setup);

}  // namespace kvmm

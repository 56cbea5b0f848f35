#pragma once
// The API's endpoints (docs/api.md), under /api/v1/:
//   GET vmm.ping    GET vm.info    GET vm.counters
//   PUT vm.pause    PUT vm.resume  PUT vm.shutdown  PUT vm.power-off
// A PUT answers 204 No Content when done; a refusal is 409 Conflict, an
// endpoint asked with the wrong method 405, both with {"error": "..."}.
#include <string>

#include "app/api/api_router.h"
#include "app/api/vm_control.h"

namespace kvmm {

inline constexpr const char* kApiPrefix = "/api/v1/";

// `vm` must outlive `router`.
void add_api_routes(ApiRouter& router, VmControl& vm, std::string version);

}  // namespace kvmm

#pragma once
// The API's endpoints (docs/api.md), under /api/v1/:
//   GET vmm.ping    GET vm.info    GET vm.counters
//   PUT vm.pause    PUT vm.resume  PUT vm.shutdown  PUT vm.power-off
// A PUT answers 204 No Content when done; a refusal is 409 Conflict, an
// endpoint asked with the wrong method 405, both with {"error": "..."}.
// The HTTP side (http_api.h) routes requests to them.
#include <string>
#include <string_view>

#include "app/api/http_api.h"
#include "app/api/vm_control.h"

namespace kvmm {

inline constexpr const char* kApiPrefix = "/api/v1/";

// Every endpoint, answering for `vm`, which must outlive what is built from
// the result.
HttpApiSetup api_setup(VmControl& vm, std::string version);

// {"error": "MESSAGE"} with a newline.
std::string error_body(std::string_view message);

// A whole response with a JSON error body, for refusals made before any
// request is parsed (a foreign user, too many clients, too much input).
std::string canned_error_response(int status, std::string_view reason_phrase,
                                  std::string_view message);

}  // namespace kvmm

#pragma once
// HTTP/1.1 request parsing and routing for the API, by cpp-httplib (Debian's
// libcpp-httplib-dev), over bytes the API server has already received: the
// server owns the sockets, their limits and their deadlines (api_server.h),
// httplib owns the protocol. A request that has not fully arrived is parsed
// again when more bytes come; no handler runs before its request is whole.
// Part of kvmm-http.so (http_api.h), and linked directly into the tests.
//
// Threads: the API thread's.
#include <httplib.h>

#include <memory>
#include <string_view>

#include "app/api/http_api.h"

namespace kvmm {

class ApiRouter : public httplib::Server, public HttpApi {
 public:
  using Result = HttpApi::Result;

  // Routes every endpoint of `setup` under its prefix.
  explicit ApiRouter(HttpApiSetup setup);

  Result handle(std::string_view input, bool input_ended, int peer_pid) override;

 private:
  HttpApiSetup setup_;
};

// The module's entry points (module_entry.cc hands them to kvmm).
std::unique_ptr<HttpApi> make_http_api(HttpApiSetup setup);
HttpReply http_call(const std::string& socket, const std::string& method,
                    const std::string& target, std::chrono::milliseconds timeout);

}  // namespace kvmm

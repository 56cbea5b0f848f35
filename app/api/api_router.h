#pragma once
// HTTP/1.1 request parsing and routing for the API, by cpp-httplib (Debian's
// libcpp-httplib-dev), over bytes the API server has already received: the
// server owns the sockets, their limits and their deadlines (api_server.h),
// httplib owns the protocol. A request that has not fully arrived is parsed
// again when more bytes come; no handler runs before its request is whole.
//
// Threads: the API thread's.
#include <httplib.h>

#include <string>
#include <string_view>

namespace kvmm {

class ApiRouter : public httplib::Server {
 public:
  ApiRouter();

  struct Result {
    bool complete = false;  // false: wait for more input (ignore `response`).
    std::string response;   // The whole HTTP response, with Connection: close.
  };
  // `input`: every byte the client sent so far; `input_ended`: it shut down
  // its side, so nothing more comes. `peer_pid` is the client's process
  // (SO_PEERCRED), for the handlers' logs.
  Result handle(std::string_view input, bool input_ended, int peer_pid);
};

// A whole response with a JSON error body, for refusals made before any
// request is parsed (a foreign user, too many clients, too much input).
std::string canned_error_response(int status, std::string_view reason_phrase,
                                  std::string_view message);

// {"error": "MESSAGE"} with a newline.
std::string error_body(std::string_view message);

}  // namespace kvmm

#pragma once
// The line between kvmm and its HTTP library. cpp-httplib (Debian's
// libcpp-httplib, built with OpenSSL and three compression libraries) lives
// only in kvmm-http.so, a module kvmm loads the first time it speaks HTTP
// (http_module.h): linked into kvmm itself, those libraries cost every VM
// about 3 ms of CPU and several MiB of memory at start, whether or not
// anyone ever talks to its API (docs/api.md#the-http-module).
//
// What crosses the line is only what this header declares: the endpoints as
// plain functions (kvmm decides every answer), and bytes in and out. Both
// sides are built from one tree by one compiler; kHttpModuleAbi and the
// version string refuse a module from another build.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kvmm {

// One endpoint's answer: an HTTP status, and a JSON body (none for 204).
struct ApiAnswer {
  int status = 200;
  std::string body;
};

struct ApiEndpoint {
  std::string name;  // Under the prefix: "vm.info".
  bool put = false;  // PUT, else GET; any other method is 405.
  // May throw: a std::exception is answered 500, "internal error: WHAT".
  std::function<ApiAnswer()> handle;
};

struct HttpApiSetup {
  std::string prefix;  // "/api/v1/"
  std::vector<ApiEndpoint> endpoints;
  size_t max_request_bytes = 64 * 1024;
  // The JSON body of an error the HTTP side answers itself (400, 404, 413).
  std::function<std::string(std::string_view message)> error_body;
};

// The server side: HTTP/1.1 parsing and routing over bytes the API server
// has received (it owns the sockets, their limits and deadlines).
class HttpApi {
 public:
  struct Result {
    bool complete = false;  // false: wait for more input (ignore `response`).
    std::string response;   // The whole HTTP response, with Connection: close.
  };
  virtual ~HttpApi() = default;
  // `input`: every byte the client sent so far; `input_ended`: it shut down
  // its side, so nothing more comes. `peer_pid` is the client's process.
  virtual Result handle(std::string_view input, bool input_ended, int peer_pid) = 0;
};

// The client side: one request over a unix socket.
struct HttpReply {
  enum class Outcome { kAnswered, kNoConnection, kFailed };
  Outcome outcome = Outcome::kFailed;
  int status = 0;
  std::string body;
  std::string error;  // What failed, for kNoConnection and kFailed.
};

inline constexpr unsigned kHttpModuleAbi = 1;

// What kvmm-http.so hands kvmm (its one exported symbol returns it).
struct HttpModule {
  unsigned abi = 0;
  const char* version = nullptr;  // KVMM_VERSION of the module's build.
  std::unique_ptr<HttpApi> (*make_api)(HttpApiSetup setup) = nullptr;
  HttpReply (*call)(const std::string& socket, const std::string& method,
                    const std::string& target, std::chrono::milliseconds timeout) = nullptr;
};

inline constexpr const char* kHttpModuleSymbol = "kvmm_http_module";

}  // namespace kvmm

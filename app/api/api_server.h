#pragma once
// The API thread: accepts clients on the VM's API socket and answers each
// with one HTTP response (HttpApi, http_api.h), then closes the connection.
// The HTTP side is made on the first client's first bytes, not before: a VM
// no one talks to never loads the HTTP library (http_module.h).
//
// One thread and one poll loop serve every client, so the API cannot make
// the host start threads, and it never takes a lock a vCPU holds in its exit
// path. A hostile or broken client is bounded: only this user (or root) is
// served (SO_PEERCRED); at most Limits::max_clients at once (more are told
// 503 and closed); a request may be at most max_request_bytes and must
// arrive within the deadline, or the client is told 413 or 408 and dropped; a response not taken within the
// deadline is dropped too. Nothing a client sends reaches the VM except the
// handlers' calls on VmControl.
//
// Threads: constructed and destroyed on the main thread; the destructor
// stops and joins the API thread.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>

#include "app/api/http_api.h"
#include "base/util/event_fd.h"
#include "base/util/rate_limited_log.h"

namespace kvmm {

class ApiServer {
 public:
  struct Limits {
    size_t max_clients = 16;
    size_t max_request_bytes = 64 * 1024;
    std::chrono::milliseconds deadline{5000};
  };

  // Makes the HTTP side from a setup (load_http_api, or make_http_api in
  // the tests). Called on the API thread; an Error it throws is the answer
  // (500) to every client, and logged.
  using Factory = std::function<std::unique_ptr<HttpApi>(HttpApiSetup)>;

  // Serves `listen_fd` (a listening unix socket), which must outlive this,
  // with the endpoints of `setup` until destroyed. The thread confines
  // itself (seccomp, role kApi) before it accepts anyone. Throws Error when
  // no thread starts.
  ApiServer(int listen_fd, HttpApiSetup setup, Factory factory, Limits limits);
  ApiServer(int listen_fd, HttpApiSetup setup, Factory factory);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

 private:
  void serve() noexcept;
  // The HTTP side, made on first use; null (and logged) when it cannot be.
  HttpApi* http();

  const int listen_fd_;
  HttpApiSetup setup_;
  Factory factory_;
  std::unique_ptr<HttpApi> http_;
  std::string http_failure_;  // Why http_ could not be made.
  const Limits limits_;
  EventFd stop_;
  RateLimitedLog log_{"api: "};
  std::thread thread_;
};

}  // namespace kvmm

#pragma once
// The client side of the API, for `kvmm list|info|pause|…`: one request over
// a VM's unix socket, through the HTTP module (http_module.h).
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/util/unique_fd.h"

namespace kvmm {

struct ApiReply {
  int status = 0;
  std::string body;
};

// Throws Error naming the VM: no such socket (no VM of that name runs), a
// socket no one answers (a VM that died), no reply within `timeout`.
ApiReply api_call(const std::filesystem::path& socket, std::string_view method,
                  std::string_view endpoint,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The message of an error reply ({"error": "..."}), or the status.
std::string reply_error(const ApiReply& reply);

// RUNDIR/*.sock, sorted by name.
std::vector<std::filesystem::path> running_vm_sockets();

// A connected stream socket, or an invalid fd (errno says why).
UniqueFd connect_unix_socket(const std::filesystem::path& socket);

// Whether anything listens on `socket` (a connect succeeds).
bool api_socket_alive(const std::filesystem::path& socket);

}  // namespace kvmm

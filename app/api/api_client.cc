#include "app/api/api_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <system_error>

#include "app/api/api_routes.h"
#include "app/api/http_module.h"
#include "app/api/run_dir.h"
#include "base/util/error.h"
#include "base/util/unique_fd.h"

namespace kvmm {

namespace {

std::string vm_of(const std::filesystem::path& socket) { return socket.stem().string(); }

}  // namespace

UniqueFd connect_unix_socket(const std::filesystem::path& socket) {
  const std::string path = socket.string();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    errno = ENAMETOOLONG;
    return UniqueFd();
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() ||
      ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return UniqueFd();
  }
  return fd;
}

bool api_socket_alive(const std::filesystem::path& socket) {
  return connect_unix_socket(socket).valid();
}

ApiReply api_call(const std::filesystem::path& socket, std::string_view method,
                  std::string_view endpoint, std::chrono::milliseconds timeout) {
  std::error_code ignored;
  if (!std::filesystem::exists(socket, ignored)) {
    throw Error("no VM named '" + vm_of(socket) + "' is running (no API socket " +
                socket.string() + "): kvmm list shows the running VMs");
  }
  const std::string path = std::string(kApiPrefix) + std::string(endpoint);
  const HttpReply reply = http_module().call(socket.string(), std::string(method), path, timeout);
  switch (reply.outcome) {
    case HttpReply::Outcome::kAnswered: break;
    case HttpReply::Outcome::kNoConnection:
      throw Error("VM '" + vm_of(socket) + "' does not answer on " + socket.string() +
                  " (it has ended, or is not kvmm): kvmm list shows the running VMs");
    case HttpReply::Outcome::kFailed:
      throw Error("VM '" + vm_of(socket) + "' did not answer " + std::string(endpoint) + ": " +
                  reply.error);
  }
  return ApiReply{reply.status, reply.body};
}

std::string reply_error(const ApiReply& reply) {
  const nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    return body["error"].get<std::string>();
  }
  return "the VM answered HTTP " + std::to_string(reply.status);
}

std::vector<std::filesystem::path> running_vm_sockets() {
  std::vector<std::filesystem::path> sockets;
  std::error_code error;
  const std::filesystem::path dir = run_dir();
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".sock" && entry.is_socket(error)) {
      sockets.push_back(entry.path());
    }
  }
  std::sort(sockets.begin(), sockets.end());
  return sockets;
}

}  // namespace kvmm

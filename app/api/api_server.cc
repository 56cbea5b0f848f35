#include "app/api/api_server.h"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <latch>
#include <string>
#include <system_error>
#include <vector>

#include "app/api/api_routes.h"
#include "app/api/peer_credentials.h"
#include "base/util/error.h"
#include "base/util/thread_role.h"
#include "base/util/unique_fd.h"

namespace kvmm {

namespace {

using Clock = std::chrono::steady_clock;

// Parses of one request: a client that trickles its bytes one at a time is
// dropped after this many, so re-parsing stays bounded.
constexpr int kMaxParses = 64;

struct Client {
  UniqueFd fd;
  int pid = 0;
  Clock::time_point deadline;
  std::string input;
  bool input_ended = false;
  int parses = 0;
  std::string output;  // Non-empty: answering.
  size_t written = 0;
  bool done = false;  // Close it.
};

// Best effort, never blocking: a refusal the client may or may not read.
void send_and_forget(int fd, const std::string& response) {
  [[maybe_unused]] ssize_t n = ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
}

}  // namespace

ApiServer::ApiServer(int listen_fd, HttpApiSetup setup, Factory factory, Limits limits)
    : listen_fd_(listen_fd), setup_(std::move(setup)), factory_(std::move(factory)), limits_(limits) {
  setup_.max_request_bytes = limits_.max_request_bytes;
  try {
    // The thread names itself (prctl: a jailed kvmm has no /proc to name it
    // from here); the constructor waits for that, so from its return on,
    // before the guest runs, `ps -T` and /proc show "api", never "kvmm".
    std::latch named(1);
    thread_ = std::thread([this, &named] {
      ::pthread_setname_np(::pthread_self(), "api");
      named.count_down();
      serve();
    });
    named.wait();
  } catch (const std::system_error& e) {
    throw Error(std::string("cannot start the API thread: ") + e.what());
  }
}

ApiServer::ApiServer(int listen_fd, HttpApiSetup setup, Factory factory)
    : ApiServer(listen_fd, std::move(setup), std::move(factory), Limits{}) {}

HttpApi* ApiServer::http() {
  if (http_ || !http_failure_.empty()) return http_.get();
  try {
    http_ = factory_(setup_);
  } catch (const std::exception& e) {
    http_failure_ = e.what();
    log_.log(http_failure_);
  }
  return http_.get();
}

ApiServer::~ApiServer() {
  stop_.signal();
  if (thread_.joinable()) thread_.join();
}

void ApiServer::serve() noexcept {
  on_thread_start(ThreadRole::kApi);
  std::vector<Client> clients;
  std::vector<pollfd> fds;
  try {
    for (;;) {
      const Clock::time_point now = Clock::now();
      fds.clear();
      fds.push_back({stop_.get(), POLLIN, 0});
      fds.push_back({listen_fd_, POLLIN, 0});
      Clock::time_point next_deadline = now + limits_.deadline;
      for (const Client& client : clients) {
        fds.push_back({client.fd.get(), static_cast<short>(client.output.empty() ? POLLIN : POLLOUT), 0});
        next_deadline = std::min(next_deadline, client.deadline);
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now);
      const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait.count(), 0) + 1));
      if (ready < 0 && errno != EINTR) {
        log_.log(std::string("poll failed: ") + std::strerror(errno) + "; the API stops");
        return;
      }
      if ((fds[0].revents & POLLIN) != 0) return;

      for (size_t i = 0; i < clients.size(); ++i) {
        Client& client = clients[i];
        const short revents = fds[i + 2].revents;
        if (revents == 0) continue;
        if (client.output.empty()) {
          char buffer[4096];
          const size_t room = limits_.max_request_bytes - client.input.size();
          const ssize_t n = ::recv(client.fd.get(), buffer, std::min(room, sizeof buffer), 0);
          if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) client.done = true;
            continue;
          }
          if (n == 0) client.input_ended = true;
          client.input.append(buffer, static_cast<size_t>(n));
          HttpApi* api = http();
          HttpApi::Result result;
          if (api == nullptr) {
            result = {true, canned_error_response(500, "Internal Server Error", http_failure_)};
          } else {
            result = api->handle(client.input, client.input_ended, client.pid);
          }
          if (result.complete && result.response.empty()) {
            client.done = true;  // It closed without sending a request.
          } else if (result.complete) {
            client.output = std::move(result.response);
          } else if (client.input_ended) {
            client.done = true;  // It left before finishing its request.
          } else if (client.input.size() >= limits_.max_request_bytes) {
            client.output = canned_error_response(413, "Payload Too Large",
                                                  "request larger than " +
                                                      std::to_string(limits_.max_request_bytes) + " bytes");
          } else if (++client.parses >= kMaxParses) {
            client.output = canned_error_response(400, "Bad Request",
                                                  "request sent in too many pieces");
          }
          if (client.output.empty() || client.done) continue;
        }
        const ssize_t n = ::send(client.fd.get(), client.output.data() + client.written,
                                 client.output.size() - client.written, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno != EAGAIN && errno != EINTR) client.done = true;
          continue;
        }
        client.written += static_cast<size_t>(n);
        if (client.written == client.output.size()) client.done = true;
      }

      const Clock::time_point after = Clock::now();
      for (Client& client : clients) {
        if (!client.done && after >= client.deadline) {
          if (client.output.empty()) {
            send_and_forget(client.fd.get(),
                            canned_error_response(408, "Request Timeout",
                                                  "request not received in time"));
          }
          client.done = true;
        }
      }
      std::erase_if(clients, [](const Client& client) { return client.done; });

      if ((fds[1].revents & POLLIN) == 0) continue;
      for (;;) {
        UniqueFd fd(::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid()) break;  // EAGAIN: taken them all; anything else: next round.
        const Peer peer = peer_of(fd.get());
        if (!peer.allowed) {
          log_.log("refused a client of uid " + std::to_string(peer.uid) + " (pid " +
                   std::to_string(peer.pid) + "): only the VM's owner and root are served");
          send_and_forget(fd.get(), canned_error_response(403, "Forbidden",
                                                          "only the VM's owner may use its API"));
          continue;
        }
        if (clients.size() >= limits_.max_clients) {
          send_and_forget(fd.get(), canned_error_response(503, "Service Unavailable",
                                                          "too many API clients at once; retry"));
          continue;
        }
        Client client;
        client.fd = std::move(fd);
        client.pid = peer.pid;
        client.deadline = after + limits_.deadline;
        clients.push_back(std::move(client));
      }
    }
  } catch (const std::exception& e) {
    // Out of memory, or a bug: the API ends, the VM runs on.
    log_.log(std::string("internal error: ") + e.what() + "; the API stops");
  }
}

}  // namespace kvmm

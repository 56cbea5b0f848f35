#include "app/api/console_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "app/api/peer_credentials.h"
#include "base/util/error.h"
#include "base/util/log.h"
#include "base/util/output_file.h"
#include "base/util/thread_role.h"

namespace kvmm {

namespace {

void say_and_close(UniqueFd fd, const char* line) {
  [[maybe_unused]] ssize_t n = ::send(fd.get(), line, std::strlen(line), MSG_NOSIGNAL);
}

// Appends `bytes` to `buffer`, keeping at most `limit` (the newest).
void append_bounded(std::string& buffer, const char* bytes, size_t n, size_t limit) {
  buffer.append(bytes, n);
  if (buffer.size() > limit) buffer.erase(0, buffer.size() - limit);
}

}  // namespace

ConsoleRelay::ConsoleRelay(const std::filesystem::path& socket_path,
                           const std::optional<std::string>& log_path)
    : listener_(ApiListener::open(socket_path)) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    throw_errno("cannot create the console's socket pair");
  }
  machine_end_.reset(pair[0]);
  relay_end_.reset(pair[1]);
  if (::fcntl(relay_end_.get(), F_SETFL, O_NONBLOCK) != 0) throw_errno("fcntl failed");
  if (log_path) log_ = open_output_file(*log_path, "console log", /*append=*/true);
}

ConsoleRelay::~ConsoleRelay() {
  stop_.signal();
  if (thread_.joinable()) thread_.join();
}

void ConsoleRelay::start() {
  try {
    thread_ = std::thread([this] { serve(); });
  } catch (const std::system_error& e) {
    throw Error(std::string("cannot start the console thread: ") + e.what());
  }
}

void ConsoleRelay::serve() noexcept {
  ::pthread_setname_np(::pthread_self(), "console");
  on_thread_start(ThreadRole::kApi);
  std::string history;       // The newest guest output, for the next client.
  UniqueFd client;
  std::string to_client;     // Output the client has not taken yet.
  std::string to_guest;      // Input the guest has not taken yet.
  bool log_failed = false;
  char buffer[4096];
  try {
    for (;;) {
      pollfd fds[4] = {{stop_.get(), POLLIN, 0},
                       {listener_.fd(), POLLIN, 0},
                       {relay_end_.get(), static_cast<short>(POLLIN | (to_guest.empty() ? 0 : POLLOUT)), 0},
                       {client.valid() ? client.get() : -1,
                        static_cast<short>((to_guest.empty() ? POLLIN : 0) |
                                           (to_client.empty() ? 0 : POLLOUT)),
                        0}};
      if (::poll(fds, 4, -1) < 0 && errno != EINTR) return;
      if ((fds[0].revents & POLLIN) != 0) return;

      if ((fds[2].revents & POLLIN) != 0) {
        const ssize_t n = ::read(relay_end_.get(), buffer, sizeof buffer);
        if (n > 0) {
          const size_t bytes = static_cast<size_t>(n);
          append_bounded(history, buffer, bytes, kHistoryBytes);
          if (client.valid()) append_bounded(to_client, buffer, bytes, kClientBacklog);
          if (log_.valid() && !log_failed &&
              ::write(log_.get(), buffer, bytes) != static_cast<ssize_t>(bytes)) {
            log_failed = true;
            log_line("the console log stopped taking output (" + std::string(std::strerror(errno)) +
                     "); check its file system");
          }
        } else if (n == 0) {
          return;  // The machine closed its end: the VM is gone.
        }
      }
      if ((fds[2].revents & POLLOUT) != 0 && !to_guest.empty()) {
        const ssize_t n = ::send(relay_end_.get(), to_guest.data(), to_guest.size(), MSG_NOSIGNAL);
        if (n > 0) to_guest.erase(0, static_cast<size_t>(n));
      }
      if (client.valid() && fds[3].revents != 0) {
        if ((fds[3].revents & POLLIN) != 0) {
          const ssize_t n = ::recv(client.get(), buffer, sizeof buffer, MSG_DONTWAIT);
          if (n > 0) {
            to_guest.append(buffer, static_cast<size_t>(n));
          } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            client.reset();  // Detached.
            to_client.clear();
          }
        } else if ((fds[3].revents & (POLLHUP | POLLERR)) != 0) {
          client.reset();
          to_client.clear();
        }
      }
      if (client.valid() && !to_client.empty()) {
        const ssize_t n =
            ::send(client.get(), to_client.data(), to_client.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
          to_client.erase(0, static_cast<size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          client.reset();
          to_client.clear();
        }
      }
      if ((fds[1].revents & POLLIN) != 0) {
        UniqueFd fd(::accept4(listener_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid()) continue;
        if (!peer_of(fd.get()).allowed) {
          say_and_close(std::move(fd), "kvmm: only the VM's owner may use its console\r\n");
        } else if (client.valid()) {
          say_and_close(std::move(fd), "kvmm: another client is attached to this console\r\n");
        } else {
          client = std::move(fd);
          to_client = history;
        }
      }
    }
  } catch (const std::exception& e) {
    log_line(std::string("console: internal error: ") + e.what() + "; the console stops");
  }
}

}  // namespace kvmm

#include "app/cli/console_command.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "app/api/api_client.h"
#include "app/api/run_dir.h"
#include "app/cli/serial_backend.h"
#include "base/util/error.h"
#include "base/util/log.h"
#include "base/util/unique_fd.h"
#include "vmm/console/terminal.h"

namespace kvmm {

namespace {

constexpr char kDetachKey = 0x1d;  // Ctrl-], as telnet and virsh console.

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

UniqueFd connect_console(const std::string& name) {
  const std::filesystem::path path = console_socket_beside(socket_path_for(name));
  UniqueFd fd = connect_unix_socket(path);
  if (fd.valid()) return fd;
  if (!std::filesystem::exists(socket_path_for(name))) {
    throw Error("no VM named '" + name + "' is running: kvmm list shows the running VMs");
  }
  throw Error("VM '" + name + "' has no console socket (" + path.string() +
              "): its console is elsewhere; run it with --serial socket or --detach");
}

}  // namespace

int attach_console(const std::string& name) {
  UniqueFd console = connect_console(name);
  log_line("connected to the console of VM '" + name + "'; Ctrl-] detaches");
  std::optional<RawTerminal> terminal;
  terminal.emplace(STDIN_FILENO);
  char buffer[4096];
  for (;;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {console.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll failed");
    }
    if (fds[1].revents != 0) {
      const ssize_t n = ::read(console.get(), buffer, sizeof buffer);
      if (n <= 0) {
        terminal.reset();
        log_line("the console of VM '" + name + "' closed: the VM has ended");
        return 0;
      }
      if (!write_all(STDOUT_FILENO, buffer, static_cast<size_t>(n))) return 0;
    }
    if (fds[0].revents != 0) {
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      const char* key = n > 0 ? static_cast<const char*>(std::memchr(buffer, kDetachKey, static_cast<size_t>(n))) : nullptr;
      const size_t forward = key != nullptr ? static_cast<size_t>(key - buffer) : n > 0 ? static_cast<size_t>(n) : 0;
      if (forward > 0 && !write_all(console.get(), buffer, forward)) return 0;
      if (n <= 0 || key != nullptr) {
        terminal.reset();
        log_line("detached from VM '" + name + "'; it runs on");
        return 0;
      }
    }
  }
}

}  // namespace kvmm

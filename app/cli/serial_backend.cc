#include "app/cli/serial_backend.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/util/error.h"
#include "base/util/output_file.h"

namespace kvmm {

SerialOption parse_serial_option(std::string_view value) {
  SerialOption option;
  if (value == "stdio") return option;
  if (value == "pty") {
    option.kind = SerialOption::Kind::kPty;
  } else if (value == "socket") {
    option.kind = SerialOption::Kind::kSocket;
  } else if (value == "off") {
    option.kind = SerialOption::Kind::kOff;
  } else if (value.starts_with("file=") && value.size() > 5) {
    option.kind = SerialOption::Kind::kFile;
    option.path = std::string(value.substr(5));
  } else {
    throw Error("--serial " + std::string(value) +
                " is not a serial backend: use stdio, file=PATH, pty, socket or off");
  }
  return option;
}

std::filesystem::path console_socket_beside(const std::filesystem::path& api_socket) {
  std::filesystem::path path = api_socket;
  if (path.extension() == ".sock") return path.replace_extension(".console");
  return path.string() + ".console";
}

std::unique_ptr<SerialBackend> SerialBackend::open(const SerialOption& option,
                                                   const std::filesystem::path& console_socket,
                                                   const std::optional<std::string>& console_log) {
  std::unique_ptr<SerialBackend> backend(new SerialBackend());
  switch (option.kind) {
    case SerialOption::Kind::kStdio:
      backend->input_ = STDIN_FILENO;
      backend->output_ = STDOUT_FILENO;
      return backend;
    case SerialOption::Kind::kFile:
      backend->owned_output_ = open_output_file(option.path, "serial file", /*append=*/true);
      backend->where_ = "the file " + option.path;
      break;
    case SerialOption::Kind::kOff:
      backend->owned_output_.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
      break;
    case SerialOption::Kind::kPty: {
      UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
      char name[64];
      if (!master.valid() || ::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0 ||
          ::ptsname_r(master.get(), name, sizeof name) != 0) {
        throw_errno("cannot create a pseudo-terminal for --serial pty (is /dev/pts mounted?)");
      }
      backend->input_ = backend->output_ = master.get();
      backend->owned_input_ = std::move(master);
      backend->where_ = std::string("the pseudo-terminal ") + name;
      return backend;
    }
    case SerialOption::Kind::kSocket:
      backend->relay_ = std::make_unique<ConsoleRelay>(console_socket, console_log);
      backend->input_ = backend->output_ = backend->relay_->machine_fd();
      backend->where_ = "the console socket " + console_socket.string();
      return backend;
  }
  // File and off: output only; input reads as ended at once.
  if (!backend->owned_output_.valid()) throw_errno("cannot open /dev/null");
  backend->owned_input_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!backend->owned_input_.valid()) throw_errno("cannot open /dev/null");
  backend->input_ = backend->owned_input_.get();
  backend->output_ = backend->owned_output_.get();
  return backend;
}

void SerialBackend::start() {
  if (relay_) relay_->start();
}

}  // namespace kvmm

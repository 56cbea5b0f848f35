#pragma once
// `kvmm run --serial stdio|file=PATH|pty|socket|off`: where COM1's output
// goes and its input comes from, as QEMU's and cloud-hypervisor's --serial.
//   stdio   stdin and stdout (the default in the foreground)
//   file=   output appended to PATH; no input
//   pty     a new pseudo-terminal; its /dev/pts path is printed
//   socket  RUNDIR/NAME.console, for `kvmm console NAME` (the default with
//           --detach), with a bounded history and --console-log
//   off     output dropped; no input
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "app/api/console_relay.h"
#include "base/util/unique_fd.h"

namespace kvmm {

struct SerialOption {
  enum class Kind { kStdio, kFile, kPty, kSocket, kOff };
  Kind kind = Kind::kStdio;
  std::string path;  // kFile.
};

// Throws Error naming the value and the choices.
SerialOption parse_serial_option(std::string_view value);

class SerialBackend {
 public:
  // `console_socket`: where kSocket listens; `console_log`: kSocket's log.
  // Throws Error for the user (a file that cannot be created, no pty).
  static std::unique_ptr<SerialBackend> open(const SerialOption& option,
                                             const std::filesystem::path& console_socket,
                                             const std::optional<std::string>& console_log);

  int input_fd() const { return input_; }
  int output_fd() const { return output_; }
  // For the socket backend: starts its relay (after the machine is built).
  void start();
  // "the pseudo-terminal /dev/pts/3", "the console socket PATH"; "" for stdio.
  const std::string& where() const { return where_; }

 private:
  SerialBackend() = default;

  int input_ = -1;
  int output_ = -1;
  UniqueFd owned_input_;
  UniqueFd owned_output_;
  std::unique_ptr<ConsoleRelay> relay_;
  std::string where_;
};

// RUNDIR/NAME.console beside the API socket RUNDIR/NAME.sock.
std::filesystem::path console_socket_beside(const std::filesystem::path& api_socket);

}  // namespace kvmm

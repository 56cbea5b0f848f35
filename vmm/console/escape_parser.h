#pragma once
// The console escape convention of QEMU's stdio multiplexer, so users' habits
// carry over: Ctrl-A starts a command, the next byte picks it.
//   Ctrl-A x       quit kvmm
//   Ctrl-A h or ?  show the list of commands (to the host, not the guest)
//   Ctrl-A Ctrl-A  send one Ctrl-A to the guest
//   Ctrl-A other   ignored, escape and byte both, as QEMU does: a mistyped
//                  command must not leak a stray byte into the guest.
// Pure logic, stateful across calls: the escape and its command may arrive
// in different reads.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace kvmm {

struct EscapeResult {
  std::string to_guest;  // The input with escape sequences removed.
  bool quit = false;     // Ctrl-A x seen; bytes after it in that call are dropped.
  bool help = false;     // Ctrl-A h or ? seen; show help_text() to the user.
};

class EscapeParser {
 public:
  static constexpr uint8_t kEscape = 0x01;  // Ctrl-A

  EscapeResult feed(std::span<const uint8_t> bytes);
  // With \r\n line ends: the terminal is in raw mode while it is shown.
  static std::string_view help_text();

 private:
  bool escape_pending_ = false;
};

}  // namespace kvmm

#include "vmm/console/escape_parser.h"

namespace kvmm {

namespace {

constexpr uint8_t kQuit = 'x';
constexpr uint8_t kHelp = 'h';
constexpr uint8_t kHelpAlternative = '?';

}  // namespace

EscapeResult EscapeParser::feed(std::span<const uint8_t> bytes) {
  EscapeResult result;
  result.to_guest.reserve(bytes.size());
  for (const uint8_t byte : bytes) {
    if (!escape_pending_) {
      if (byte == kEscape) {
        escape_pending_ = true;
      } else {
        result.to_guest.push_back(static_cast<char>(byte));
      }
      continue;
    }
    escape_pending_ = false;
    switch (byte) {
      case kEscape: result.to_guest.push_back(static_cast<char>(kEscape)); break;
      case kQuit:
        // The VM is stopping: what was typed after the quit has no reader.
        result.quit = true;
        return result;
      case kHelp:
      case kHelpAlternative: result.help = true; break;
      default: break;  // Unknown command: swallowed, like QEMU.
    }
  }
  return result;
}

std::string_view EscapeParser::help_text() {
  return "\r\n"
         "kvmm console escapes:\r\n"
         "  Ctrl-A x       quit kvmm\r\n"
         "  Ctrl-A h or ?  show this help\r\n"
         "  Ctrl-A Ctrl-A  send Ctrl-A to the guest\r\n";
}

}  // namespace kvmm

#include "vmm/machine/panic_watch.h"

#include <string_view>

#include "base/util/log_escape.h"

namespace kvmm {

namespace {
constexpr std::string_view kMarker = "Kernel panic - not syncing: ";
}  // namespace

void PanicWatch::feed(uint8_t byte) {
  std::lock_guard lock(mutex_);
  const char c = static_cast<char>(byte);
  if (in_reason_) {
    if (c == '\r' || c == '\n' || reason_.size() >= kMaxReason) {
      in_reason_ = false;
      if (!panic_) panic_ = reason_;
    } else {
      reason_.push_back(c);
    }
    return;
  }
  // The marker has no repeated prefix, so on a mismatch matching restarts
  // with this byte alone (no KMP table needed).
  if (c == kMarker[matched_]) {
    ++matched_;
  } else {
    matched_ = c == kMarker[0] ? 1 : 0;
  }
  if (matched_ == kMarker.size()) {
    matched_ = 0;
    in_reason_ = true;
    reason_.clear();
  }
}

std::optional<std::string> PanicWatch::panic_reason() const {
  std::lock_guard lock(mutex_);
  if (!panic_) return std::nullopt;
  return escape_for_log(*panic_);  // Guest-controlled: it goes into kvmm's own line.
}

}  // namespace kvmm

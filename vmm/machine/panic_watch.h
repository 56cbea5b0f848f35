#pragma once
// Watches the guest's console for Linux's panic line, "Kernel panic - not
// syncing: REASON". With panic=-1 a panicking kernel resets at once, through
// the same ACPI or keyboard-controller reset as a clean reboot; this is how
// kvmm tells the two apart and reports the panic with a non-zero status.
// Cheap: one comparison per console byte.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace kvmm {

class PanicWatch {
 public:
  // Called with each byte the guest writes to its console (any thread).
  void feed(uint8_t byte);
  // The panic's reason once its line is complete (or cut at kMaxReason),
  // escaped for kvmm's log (escape_for_log): the guest wrote it.
  std::optional<std::string> panic_reason() const;

  static constexpr size_t kMaxReason = 200;

 private:
  mutable std::mutex mutex_;  // Guards everything below: vCPU threads feed bytes.
  size_t matched_ = 0;  // Bytes of the marker matched so far.
  bool in_reason_ = false;
  std::string reason_;
  std::optional<std::string> panic_;
};

}  // namespace kvmm

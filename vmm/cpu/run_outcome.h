#pragma once
// Why a VM stopped, and the exit status kvmm reports for it.
#include <string>

namespace kvmm {

// kvmm's exit statuses, besides the value a guest writes to the debug-exit port.
inline constexpr int kExitOk = 0;
inline constexpr int kExitSetupFailed = 1;  // Bad input or host problem; nothing ran.
inline constexpr int kExitGuestCrashed = 2;  // Triple fault, entry failure, KVM error.
inline constexpr int kExitGuestPanicked = 3;  // The guest kernel panicked, then reset.

struct RunOutcome {
  int exit_status = kExitOk;
  std::string message;  // Empty for a clean stop; otherwise printed to stderr.
};

}  // namespace kvmm

#pragma once
// Why a VM stopped, and the exit status kvmm reports for it.
#include <string>

namespace kvmm {

// kvmm's exit statuses (documented in `kvmm --help` and kvmm.1, from the
// table in app/cli/options.cc), besides the byte a flat guest writes to the
// debug-exit port and 128+N on signal N.
inline constexpr int kExitOk = 0;
inline constexpr int kExitSetupFailed = 1;    // A host or setup failure; nothing ran.
inline constexpr int kExitUsage = 2;          // A bad command line (UsageError).
inline constexpr int kExitGuestPanicked = 3;  // The guest kernel panicked, then reset.
inline constexpr int kExitGuestCrashed = 4;   // Triple fault, entry failure, KVM error.

struct RunOutcome {
  int exit_status = kExitOk;
  std::string message;  // Empty for a clean stop; otherwise printed to stderr.
};

}  // namespace kvmm

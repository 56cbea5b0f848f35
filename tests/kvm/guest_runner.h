#pragma once
// Runs a nasm guest under build/kvmm with an exit log, for the KVM tests.
#include <string>
#include <vector>

#include "tests/support/refusal.h"
#include "tests/support/run_process.h"

namespace kvmm::testing {

struct GuestRun {
  ProcessResult result;
  std::string exits;  // The --exit-log contents.
};

// build/guest/NAME.bin
std::string guest_path(const std::string& name);
GuestRun run_guest(const std::string& name, const std::string& mode, ProcessOptions options = {});
// The same, with extra arguments after kvmm's own (e.g. --stats-file=PATH).
GuestRun run_guest(const std::string& name, const std::string& mode,
                   const std::vector<std::string>& extra_args, ProcessOptions options = {});
// The exits that printing `text` one `out dx, al` at a time produces.
std::string print_exits(const std::string& text);

}  // namespace kvmm::testing

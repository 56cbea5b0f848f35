#pragma once
// The command line: `kvmm run|check|bench exits|bench sched|help|version`, parsed into a command.
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "app/bench/bench_options.h"
#include "app/bench/sched_bench.h"
#include "vmm/machine/vm_config.h"

namespace kvmm {

struct RunCommand {
  VmConfig config;
};
struct CheckCommand {
  bool quiet = false;
  bool need_linux = false;  // --linux: also require a KVM that boots Linux.
};
struct HelpCommand {};
struct VersionCommand {};
struct BenchSchedCommand {
  SchedBenchConfig config;
};

using Command =
    std::variant<RunCommand, CheckCommand, BenchCommand, HelpCommand, VersionCommand,
                 BenchSchedCommand>;

// Throws Error with one line that names the bad argument and the fix.
Command parse_command_line(std::span<const std::string_view> args);

std::string usage_text();

}  // namespace kvmm

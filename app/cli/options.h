#pragma once
// The command line: `kvmm run|check|bench exits|bench sched`, each verb one
// option table (app/options/option_table.h), parsed into a command. The same
// tables give `kvmm [VERB] --help`, `kvmm --man` and `kvmm --completion bash`.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "app/bench/bench_options.h"
#include "app/bench/sched_bench.h"
#include "app/cli/serial_backend.h"
#include "app/options/option_table.h"
#include "vmm/machine/vm_config.h"

namespace kvmm {

struct RunCommand {
  // kvmm run confines its threads unless told --seccomp=off, and unpacks a
  // bzImage into the cache unless told --kernel-unpack=memory or off
  // (VmConfig's own defaults are off, for machines built inside tests).
  VmConfig config = [] {
    VmConfig defaults;
    defaults.seccomp = SeccompMode::kOn;
    defaults.kernel_unpack = KernelUnpack::kCache;
    return defaults;
  }();
  // --name: the VM's name for kvmm list and the other verbs; empty: kvmm-PID.
  std::string name;
  // --api-socket: where the API listens; empty: RUNDIR/NAME.sock; "none": off.
  std::string api_socket;
  // --serial; unset: stdio, or socket with --detach.
  std::optional<SerialOption> serial;
  std::optional<std::string> console_log;  // --console-log FILE (socket backend).
  bool detach = false;                     // --detach
};
// kvmm list|info|pause|resume|shutdown|destroy|stats: clients of a running
// VM's API (app/cli/vm_commands.h).
struct ManageCommand {
  enum class Action { kList, kInfo, kPause, kResume, kShutdown, kDestroy, kStats, kConsole };
  Action action = Action::kList;
  std::string name;  // The VM; every action but kList.
  bool json = false;
  bool config = false;             // info --config: the config object alone.
  uint32_t timeout_s = 30;         // shutdown: then destroy.
  std::optional<double> watch_s;   // stats: a sample every watch_s seconds.
  std::optional<uint32_t> count;   // stats --watch: this many samples, then stop.
};
struct CheckCommand {
  bool quiet = false;
  bool json = false;  // --json: the checks as one JSON object on stdout.
  bool need_linux = false;  // --linux: also require a KVM that boots Linux.
};
// --help (of kvmm or a verb), --man or --completion bash: text for stdout.
struct HelpCommand {
  std::string text;
};
struct VersionCommand {};
struct BenchSchedCommand {
  SchedBenchConfig config;
};

using Command =
    std::variant<RunCommand, CheckCommand, BenchCommand, HelpCommand, VersionCommand,
                 BenchSchedCommand, ManageCommand>;

// Throws UsageError with one line that names the bad argument and the fix.
Command parse_command_line(std::span<const std::string_view> args);

// Every verb's table, for the help, the man page, completion and their tests
// (the tables' setters write into objects owned by the returned Program's
// static storage and are never called for documentation).
const Program& kvmm_program();

std::string usage_text();  // kvmm --help

}  // namespace kvmm

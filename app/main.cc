// kvmm's entry point: parse, build, run, and turn every error into one line
// on stderr and an exit status: 2 for a UsageError, 1 for any other Error.
#include <signal.h>

#include <iostream>
#include <string_view>
#include <vector>

#include "app/bench/bench_command.h"
#include "app/cli/host_check.h"
#include "app/cli/options.h"
#include "base/util/error.h"
#include "base/util/log.h"
#include "vmm/machine/machine.h"

#ifndef KVMM_VERSION
#define KVMM_VERSION "unknown"
#endif

namespace kvmm {
namespace {

int run_guest(const RunCommand& command) {
  std::unique_ptr<Machine> machine = Machine::build(command.config);
  const RunOutcome outcome = machine->run();
  if (!outcome.message.empty()) log_line(outcome.message);
  return outcome.exit_status;
}

int dispatch(const Command& command) {
  if (const auto* help = std::get_if<HelpCommand>(&command)) {
    std::cout << help->text;
    return 0;
  }
  if (std::holds_alternative<VersionCommand>(command)) {
    std::cout << "kvmm " << KVMM_VERSION << '\n';
    return 0;
  }
  if (const auto* sched = std::get_if<BenchSchedCommand>(&command)) {
    return run_sched_bench_command(sched->config, std::cout);
  }
  if (const auto* check = std::get_if<CheckCommand>(&command)) {
    return run_host_check(std::cout, check->quiet, check->need_linux);
  }
  if (const auto* bench = std::get_if<BenchCommand>(&command)) {
    return run_bench_command(*bench, std::cout, KVMM_VERSION);
  }
  return run_guest(std::get<RunCommand>(command));
}

}  // namespace
}  // namespace kvmm

int main(int argc, char** argv) {
  // A closed stdout (e.g. `kvmm run ... | head`) must end the guest's output,
  // not kill kvmm before it can report and clean up.
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string_view> args(argv + 1, argv + argc);
  try {
    return kvmm::dispatch(kvmm::parse_command_line(args));
  } catch (const kvmm::UsageError& e) {
    kvmm::log_line(e.what());
    return kvmm::kExitUsage;
  } catch (const kvmm::Error& e) {
    kvmm::log_line(e.what());
    return kvmm::kExitSetupFailed;
  } catch (const std::exception& e) {
    kvmm::log_line(std::string("internal error: ") + e.what());
    return kvmm::kExitSetupFailed;
  }
}

// kvmm's entry point: parse, build, run, and turn every error into one line
// on stderr and an exit status: 2 for a UsageError, 1 for any other Error.
#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "app/api/api_listener.h"
#include "app/api/api_routes.h"
#include "app/api/http_module.h"
#include "app/api/api_server.h"
#include "app/api/machine_control.h"
#include "app/api/run_dir.h"
#include "app/bench/bench_command.h"
#include "app/cli/host_check.h"
#include "app/cli/options.h"
#include "app/cli/vm_commands.h"
#include "base/util/error.h"
#include "base/util/log.h"
#include "base/util/output_file.h"
#include "base/util/unique_fd.h"
#include "base/util/stop_signals.h"
#include "base/util/thread_stack.h"
#include "vmm/console/terminal.h"
#include "vmm/machine/machine.h"

#ifndef KVMM_VERSION
#define KVMM_VERSION "unknown"
#endif

namespace kvmm {
namespace {

// MemAvailable from /proc/meminfo in bytes (the kernel's estimate of what
// can be allocated without swapping), or 0 when it cannot be read.
uint64_t host_available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

// Guest RAM is mapped lazily (MAP_NORESERVE), so a --mem beyond the host's
// memory starts fine and fails only when the guest touches it: the OOM
// killer then takes kvmm. Say so up front, in one line; the run goes on.
void warn_if_memory_exceeds_host(uint64_t guest_bytes) {
  const uint64_t available = host_available_memory();
  if (available == 0 || guest_bytes <= available) return;
  log_line("warning: --mem " + std::to_string(guest_bytes >> 20) + "M is more than this host's " +
           "available memory (" + std::to_string(available >> 20) +
           "M, MemAvailable in /proc/meminfo): the guest runs until it uses it, then the OOM "
           "killer may stop kvmm; lower --mem");
}

// The API socket `kvmm run` listens on, claimed before the VM is built so
// that a taken name fails at once. nullopt: --api-socket none, or no RUNDIR
// for a VM not named on the command line (said in one line).
std::optional<ApiListener> open_api_socket(const RunCommand& command, const std::string& name) {
  if (command.api_socket == "none") return std::nullopt;
  if (!command.api_socket.empty()) return ApiListener::open(command.api_socket);
  try {
    return ApiListener::open(socket_path_for(name));
  } catch (const Error& e) {
    if (!command.name.empty()) throw;
    log_line(std::string("warning: running without an API socket: ") + e.what());
    return std::nullopt;
  }
}

// `kvmm run --detach`: the parent waits, on a pipe that is the child's
// stderr until the guest runs, for the child to say it runs; it prints the
// child's messages and how to reach the VM, then exits 0, or with the
// child's status if the child failed first. The child goes on alone in a new
// session, its messages in `log_path`. Call before any thread exists.
constexpr std::string_view kDetachedMarker = "kvmm: detached\n";

[[noreturn]] void wait_for_detached_child(int pipe_fd, pid_t child, const std::string& name) {
  std::string said;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fd, buffer, sizeof buffer)) != 0) {
    if (n > 0) said.append(buffer, static_cast<size_t>(n));
    if (n < 0 && errno != EINTR) break;
  }
  const bool running = said.ends_with(kDetachedMarker);
  if (running) said.resize(said.size() - kDetachedMarker.size());
  [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, said.data(), said.size());
  if (running) {
    std::cout << "VM '" << name << "' is running (pid " << child << "): kvmm console " << name
              << " attaches, kvmm destroy " << name << " ends it" << std::endl;
    std::_Exit(kExitOk);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  std::_Exit(WIFEXITED(status) ? WEXITSTATUS(status) : kExitSetupFailed);
}

// In the child: returns the fd to write "running" to (its stderr pipe).
void detach(const std::string& name) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("cannot detach: pipe failed");
  const pid_t child = ::fork();
  if (child < 0) throw_errno("cannot detach: fork failed");
  if (child > 0) {
    ::close(pipe_fds[1]);
    wait_for_detached_child(pipe_fds[0], child, name);
  }
  ::close(pipe_fds[0]);
  ::setsid();
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::close(null_fd);
  }
  ::dup2(pipe_fds[1], STDERR_FILENO);
  ::close(pipe_fds[1]);
}

// Once the guest runs: the parent hears so, and kvmm's messages go to the
// log, opened before the machine was built (--jail's chroot comes between).
void finish_detach(const std::filesystem::path& log_path, const UniqueFd& log) {
  log_line(std::string("detached; messages go to ") + log_path.string());
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, kDetachedMarker.data(), kDetachedMarker.size());
  ::dup2(log.get(), STDERR_FILENO);  // The pipe's last write end closes: the parent goes.
}

int run_guest(const RunCommand& command) {
  warn_if_memory_exceeds_host(command.config.memory_bytes);
  const std::string name =
      command.name.empty() ? "kvmm-" + std::to_string(::getpid()) : command.name;
  std::optional<ApiListener> listener = open_api_socket(command, name);
  const SerialOption serial = command.serial.value_or(
      command.detach ? SerialOption{.kind = SerialOption::Kind::kSocket, .path = {}}
                     : SerialOption{});
  if (serial.kind == SerialOption::Kind::kSocket && !listener) {
    throw Error("--serial socket needs a directory for its socket: set KVMM_RUN_DIR or give "
                "--name");
  }
  const std::unique_ptr<SerialBackend> console = SerialBackend::open(
      serial, listener ? console_socket_beside(listener->path()) : std::filesystem::path(),
      command.console_log);
  if (!console->where().empty()) log_line("serial console on " + console->where());
  if (command.detach) detach(name);

  std::filesystem::path log_path;
  UniqueFd log;
  if (command.detach) {
    log_path = listener->path();
    log_path.replace_extension(".log");
    log = open_output_file(log_path.string(), "log", /*append=*/true);
  }

  VmConfig config = command.config;
  config.api = listener.has_value();
  config.console_input = console->input_fd();
  config.console_output = console->output_fd();
  // The HTTP module is loaded on the API's first client, by the API thread,
  // whose seccomp filter lets it open and map files but not search for
  // them: found now. --jail's chroot hides the files: a jailed kvmm loads it
  // now.
  if (config.api) locate_http_module();
  if (config.jail && config.api) {
    try {
      (void)http_module();
    } catch (const Error& e) {
      // The VM runs without it, as an unjailed one would: its API answers 500.
      log_line(std::string("warning: ") + e.what() + "; the API will refuse every request");
    }
  }
  std::unique_ptr<Machine> machine = Machine::build(config);
  // Jailed now: the sockets' paths would name files inside the jail.
  if (config.jail) ApiListener::leave_files_in_place();
  // Declared after the machine, so destroyed (the API thread joined) first.
  std::optional<MachineControl> control;
  std::optional<ApiServer> server;
  if (listener) {
    control.emplace(*machine, name, listener->path().string());
    server.emplace(listener->fd(), api_setup(*control, KVMM_VERSION), load_http_api);
  }
  console->start();
  std::function<void()> on_started;
  if (command.detach) on_started = [&log_path, &log] { finish_detach(log_path, log); };
  const RunOutcome outcome = machine->run(on_started);
  server.reset();
  if (!outcome.message.empty()) log_line(outcome.message);
  // No one waits for a detached kvmm's status: its log says it.
  if (command.detach) log_line("VM '" + name + "' ended, exit status " + std::to_string(outcome.exit_status));
  return outcome.exit_status;
}

// A crash in kvmm (SIGSEGV, SIGBUS, SIGABRT from abort() or an assertion,
// SIGFPE, SIGILL) must not leave the user's shell in raw mode: put the
// terminal back, then die of the same signal with its default action (core
// dump and exit status unchanged). SA_RESETHAND restores the default before
// the handler runs; SA_NODEFER lets the raise() through at once.
void on_fatal_signal(int signal_number) {
  kvmm::RawTerminal::restore_saved();  // Async-signal-safe.
  kvmm::ApiListener::remove_after_crash();  // So is this.
  ::raise(signal_number);
}

void install_fatal_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_fatal_signal;
  action.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  for (int signal_number : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) {
    ::sigaction(signal_number, &action, nullptr);
  }
}

// An exception that escapes a thread (or a noexcept function) ends in
// std::terminate: restore the terminal and say so, then abort as usual.
[[noreturn]] void on_terminate() {
  kvmm::RawTerminal::restore_saved();
  kvmm::ApiListener::remove_after_crash();
  static constexpr char kMessage[] = "kvmm: internal error: std::terminate called\n";
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  std::abort();
}

int dispatch(const Command& command) {
  // Only `kvmm run` waits for the stop signals (Machine::run's signalfd);
  // every other verb takes them with their default action, as before.
  if (!std::holds_alternative<RunCommand>(command)) {
    const sigset_t signals = stop_signals();
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
  }
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
  if (const auto* manage = std::get_if<ManageCommand>(&command)) {
    return run_manage_command(*manage, std::cout);
  }
  if (const auto* check = std::get_if<CheckCommand>(&command)) {
    const CheckOutput output = check->quiet  ? CheckOutput::kQuiet
                               : check->json ? CheckOutput::kJson
                                             : CheckOutput::kText;
    return run_host_check(std::cout, output, check->need_linux);
  }
  if (const auto* bench = std::get_if<BenchCommand>(&command)) {
    return run_bench_command(*bench, std::cout, KVMM_VERSION);
  }
  return run_guest(std::get<RunCommand>(command));
}

}  // namespace
}  // namespace kvmm

int main(int argc, char** argv) {
  // Before any thread exists, so every thread kvmm starts (vCPUs, the disks'
  // blk-worker and I/O threads) inherits the mask: a stop signal is taken
  // only by the thread that waits for it, never kills kvmm from a worker.
  const sigset_t stop = kvmm::stop_signals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  kvmm::set_default_thread_stack();
  // One malloc arena for every thread: kvmm's threads allocate little and
  // rarely at once, and each further arena is a 64 MiB reservation with its
  // own touched pages (about 60 KiB each, measured, for the API, launcher
  // and vCPU threads).
  mallopt(M_ARENA_MAX, 1);
  kvmm::install_fatal_signal_handlers();
  std::set_terminate(kvmm::on_terminate);
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

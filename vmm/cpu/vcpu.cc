#include "vmm/cpu/vcpu.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <cstring>
#include <string>

#include "base/util/error.h"
#include "base/util/format.h"
#include "base/util/unique_fd.h"
#include "vmm/cpu/register_dump.h"
#include "vmm/cpu/run_outcome.h"

namespace kvmm {

namespace {

int kick_signal() { return SIGRTMIN; }

void on_kick_signal(int) {}  // Its only job is to make KVM_RUN return EINTR.

uint64_t now_ns() {
  // steady_clock is CLOCK_MONOTONIC through the vDSO: no system call.
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void count_exit(VcpuStats& stats, const kvm_run& run) {
  switch (run.exit_reason) {
    case KVM_EXIT_IO:
      stats.count_exit(ExitReason::kIo);
      // One key per exit, whatever its `rep` count: it is the exits that cost.
      stats.io.add(uint64_t{run.io.port} << 1 | (run.io.direction == KVM_EXIT_IO_OUT ? 1 : 0));
      return;
    case KVM_EXIT_MMIO:
      stats.count_exit(ExitReason::kMmio);
      // Guest-controlled, but a guest-physical address fits in 52 bits.
      stats.mmio.add(run.mmio.phys_addr << 1 | (run.mmio.is_write != 0 ? 1 : 0));
      return;
    case KVM_EXIT_HLT: stats.count_exit(ExitReason::kHlt); return;
    case KVM_EXIT_SHUTDOWN: stats.count_exit(ExitReason::kShutdown); return;
    case KVM_EXIT_INTR: stats.count_exit(ExitReason::kIntr); return;
    case KVM_EXIT_FAIL_ENTRY: stats.count_exit(ExitReason::kFailEntry); return;
    case KVM_EXIT_INTERNAL_ERROR: stats.count_exit(ExitReason::kInternalError); return;
    default: stats.count_exit(ExitReason::kOther); return;
  }
}

std::optional<uint64_t> read_run_delay(int tid) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/schedstat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;  // No CONFIG_SCHEDSTATS: reported as null.
  char text[128];
  const ssize_t n = ::read(fd.get(), text, sizeof text - 1);
  if (n <= 0) return std::nullopt;
  return parse_schedstat_run_delay(std::string_view(text, static_cast<size_t>(n)));
}

}  // namespace

void install_vcpu_kick_handler() {
  struct sigaction action {};
  action.sa_handler = on_kick_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // No SA_RESTART: KVM_RUN must return EINTR.
  if (::sigaction(kick_signal(), &action, nullptr) < 0) throw_errno("sigaction failed");
}

void Vcpu::kick() {
  // immediate_exit covers the window before the thread enters KVM_RUN, the
  // signal the time inside it (KVM API: KVM_CAP_IMMEDIATE_EXIT).
  __atomic_store_n(&kvm_.run_area()->immediate_exit, 1, __ATOMIC_SEQ_CST);
  if (thread_started_.load(std::memory_order_acquire)) ::pthread_kill(thread_, kick_signal());
}

void Vcpu::enable_stats() {
  stats_ = std::make_unique<VcpuStats>();
  stats_->vcpu = index();
}

void Vcpu::run_loop() {
  thread_ = ::pthread_self();
  thread_started_.store(true, std::memory_order_release);
  StopController& stop = *dispatcher_.wiring().stop;
  // The choice of loop is made once, not per exit: without --stats the exit
  // path is exactly what it was, with no clock reads and no counting.
  if (stats_) begin_stats();
  try {
    if (stats_) {
      run_loop_with_stats();
    } else {
      while (!stop.stop_requested()) {
        if (kvm_.run() == KvmVcpu::RunResult::kInterrupted) continue;
        if (!handle_exit()) break;
      }
    }
  } catch (const Error& e) {
    stop.request_stop(RunOutcome{kExitGuestCrashed, e.what()});
  }
  if (stats_) end_stats();
}

void Vcpu::run_loop_with_stats() {
  StopController& stop = *dispatcher_.wiring().stop;
  VcpuStats& stats = *stats_;
  while (!stop.stop_requested()) {
    const uint64_t entered = now_ns();
    const KvmVcpu::RunResult result = kvm_.run();
    const uint64_t exited = now_ns();
    stats.kvm_run_ns += exited - entered;
    if (result == KvmVcpu::RunResult::kInterrupted) {
      stats.count_exit(ExitReason::kInterrupted);
      continue;
    }
    count_exit(stats, *kvm_.run_area());
    const bool keep_running = handle_exit();
    const uint64_t handler_ns = now_ns() - exited;
    stats.handler_ns += handler_ns;
    stats.handler_latency.record(handler_ns);
    if (!keep_running) break;
  }
}

void Vcpu::begin_stats() {
  // The vCPU thread's own id, for its schedstat: only this thread knows it.
  stats_->tid = static_cast<int>(::gettid());
  // KVM_CAP_BINARY_STATS_FD (Linux 5.14). The ioctl itself is the check: a
  // kernel without it refuses the unknown ioctl (ENOTTY/EINVAL).
  const int fd = ::ioctl(kvm_.fd(), KVM_GET_STATS_FD, 0);
  if (fd < 0) {
    stats_->kernel.unavailable_reason =
        std::string("KVM_GET_STATS_FD failed: ") + strerrordesc_np(errno);
    return;
  }
  kernel_stats_fd_.reset(fd);
}

void Vcpu::end_stats() {
  stats_->run_delay_ns = read_run_delay(stats_->tid);
  if (!kernel_stats_fd_.valid()) return;
  try {
    stats_->kernel.counters = read_kvm_stats(kernel_stats_fd_.get());
    stats_->kernel.available = true;
  } catch (const Error& e) {
    stats_->kernel.unavailable_reason = e.what();
  }
}

bool Vcpu::handle_exit() {
  switch (dispatcher_.dispatch(*kvm_.run_area(), kvm_.run_bytes())) {
    case ExitDispatcher::Action::kContinue: return true;
    case ExitDispatcher::Action::kStop: return false;
    case ExitDispatcher::Action::kCrash: break;
  }
  crash(dispatcher_.crash_message());
  return false;
}

void Vcpu::crash(std::string message) {
  try {
    message += "\n" + format_registers(kvm_.regs(), kvm_.sregs());
  } catch (const Error&) {
    // Registers are a diagnostic extra; the crash itself is what matters.
  }
  dispatcher_.wiring().stop->request_stop(RunOutcome{kExitGuestCrashed, std::move(message)});
}

}  // namespace kvmm

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

std::optional<uint64_t> read_guest_time(int tid) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/stat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  char text[1024];
  const ssize_t n = ::read(fd.get(), text, sizeof text - 1);
  if (n <= 0) return std::nullopt;
  const std::optional<uint64_t> ticks =
      parse_proc_stat_field(std::string_view(text, static_cast<size_t>(n)), 43);
  static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  if (!ticks || ticks_per_second <= 0) return std::nullopt;
  return *ticks * (1'000'000'000 / static_cast<uint64_t>(ticks_per_second));
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

Vcpu::Vcpu(KvmVcpu kvm_vcpu, Wiring wiring, PauseGate* pause, WakeHandler on_wake)
    : kvm_(std::move(kvm_vcpu)),
      dispatcher_(kvm_.index(), wiring),
      pause_(pause),
      on_wake_(std::move(on_wake)) {
  published_.vcpu = index();
  // KVM_CAP_BINARY_STATS_FD (Linux 5.14). The ioctl itself is the check: a
  // kernel without it refuses the unknown ioctl (ENOTTY/EINVAL). Opened here,
  // before any filter, so that live readers need no ioctl of their own.
  const int fd = ::ioctl(kvm_.fd(), KVM_GET_STATS_FD, 0);
  if (fd < 0) {
    kernel_stats_unavailable_ = std::string("KVM_GET_STATS_FD failed: ") + strerrordesc_np(errno);
  } else {
    kernel_stats_fd_.reset(fd);
  }
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

[[gnu::hot]] void Vcpu::run_loop() {
  thread_ = ::pthread_self();
  tid_.store(static_cast<int>(::gettid()), std::memory_order_release);
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
        if (pause_ != nullptr && pause_->pause_requested()) {
          park();
          continue;
        }
        if (kvm_.run() == KvmVcpu::RunResult::kInterrupted) continue;
        if (!handle_exit()) break;
      }
    }
  } catch (const Error& e) {
    stop.request_stop(RunOutcome{kExitGuestCrashed, e.what()});
  }
  if (stats_) end_stats();
  if (pause_ != nullptr) pause_->retire();
}

void Vcpu::park() {
  // The guest's kvmclock learns that it was stopped (PVCLOCK_GUEST_STOPPED),
  // so its soft-lockup watchdog does not count the pause against it. A
  // guest without kvmclock (flat guests) makes KVM refuse it: nothing to tell.
  ::ioctl(kvm_.fd(), KVM_KVMCLOCK_CTRL, 0);
  const PauseGate::ParkEnd end = pause_->park();
  // The guest slept and wakes: this vCPU restarts where a waking PC's
  // firmware would start it, not at the instruction after its last exit.
  if (end == PauseGate::ParkEnd::kWoke && on_wake_) {
    // First let KVM finish the exit this thread last handled (an MMIO read's
    // data, a port write's RIP): with immediate_exit set, KVM_RUN completes
    // it and returns without entering the guest (KVM API, "immediate_exit").
    // Completing it after the reset would apply it to the new registers.
    __atomic_store_n(&kvm_.run_area()->immediate_exit, 1, __ATOMIC_SEQ_CST);
    static_cast<void>(kvm_.run());
    on_wake_(kvm_);
  }
  // The kick that brought this thread here set immediate_exit; the next
  // KVM_RUN must enter the guest. (A kick of a stop set it too, and the loop
  // sees that stop before it enters.)
  __atomic_store_n(&kvm_.run_area()->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

void Vcpu::run_loop_with_stats() {
  StopController& stop = *dispatcher_.wiring().stop;
  VcpuStats& stats = *stats_;
  while (!stop.stop_requested()) {
    if (pause_ != nullptr && pause_->pause_requested()) {
      publish_stats(now_ns(), true);
      park();
      continue;
    }
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
    publish_stats(exited + handler_ns, false);
    if (!keep_running) break;
  }
}

void Vcpu::publish_stats(uint64_t now, bool force) {
  if (!force && now - last_publish_ns_ < kPublishIntervalNs) return;
  last_publish_ns_ = now;
  std::lock_guard lock(published_mutex_);
  published_ = *stats_;
}

VcpuStats Vcpu::live_stats() const {
  VcpuStats live;
  {
    std::lock_guard lock(published_mutex_);
    live = published_;
  }
  live.vcpu = index();
  live.tid = tid();
  live.run_delay_ns = live.tid == 0 ? std::nullopt : read_run_delay(live.tid);
  live.guest_time_ns = live.tid == 0 ? std::nullopt : read_guest_time(live.tid);
  read_kernel_stats(live);
  return live;
}

void Vcpu::read_kernel_stats(VcpuStats& into) const {
  into.kernel = KernelStats{};
  if (!kernel_stats_fd_.valid()) {
    into.kernel.unavailable_reason = kernel_stats_unavailable_;
    return;
  }
  try {
    into.kernel.counters = read_kvm_stats(kernel_stats_fd_.get());
    into.kernel.available = true;
  } catch (const Error& e) {
    into.kernel.unavailable_reason = e.what();
  }
}

void Vcpu::begin_stats() {
  // The vCPU thread's own id, for its schedstat: only this thread knows it.
  stats_->tid = tid();
}

void Vcpu::end_stats() {
  stats_->run_delay_ns = read_run_delay(stats_->tid);
  stats_->guest_time_ns = read_guest_time(stats_->tid);
  read_kernel_stats(*stats_);
  publish_stats(0, true);
}

[[gnu::hot]] bool Vcpu::handle_exit() {
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

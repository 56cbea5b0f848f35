#include "vmm/cpu/vcpu.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <cstring>
#include <string>

#include "vmm/cpu/register_dump.h"
#include "vmm/cpu/run_outcome.h"
#include "vmm/util/error.h"
#include "vmm/util/format.h"
#include "vmm/util/unique_fd.h"

namespace kvmm {

namespace {

int kick_signal() { return SIGRTMIN; }

void on_kick_signal(int) {}  // Its only job is to make KVM_RUN return EINTR.

std::string join_elements(std::span<const uint8_t> data, size_t size, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    out += hex_le(data.subspan(i * size, size));
  }
  return out;
}

const char* internal_error_name(uint32_t suberror) {
  switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
    default: return "unknown internal error";
  }
}

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
  StopController& stop = *wiring_.stop;
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
  StopController& stop = *wiring_.stop;
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
  kvm_run& run = *kvm_.run_area();
  switch (run.exit_reason) {
    case KVM_EXIT_IO:
      handle_pio(run);
      return true;
    case KVM_EXIT_MMIO:
      handle_mmio(run);
      return true;
    case KVM_EXIT_INTR:
      return true;
    case KVM_EXIT_HLT:
      // Without an in-kernel irqchip nothing can wake a halted vCPU, so a
      // flat guest's hlt means "done".
      if (wiring_.exit_log) wiring_.exit_log->record(index(), "hlt");
      wiring_.stop->request_stop(RunOutcome{kExitOk, ""});
      return false;
    case KVM_EXIT_SHUTDOWN:
      if (wiring_.exit_log) wiring_.exit_log->record(index(), "shutdown");
      crash("the guest triple-faulted (KVM_EXIT_SHUTDOWN)");
      return false;
    case KVM_EXIT_FAIL_ENTRY:
      if (wiring_.exit_log) wiring_.exit_log->record(index(), "fail-entry");
      crash("KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason " +
            hex(run.fail_entry.hardware_entry_failure_reason) + ")");
      return false;
    case KVM_EXIT_INTERNAL_ERROR:
      if (wiring_.exit_log) wiring_.exit_log->record(index(), "internal-error");
      crash(std::string("KVM internal error: ") + internal_error_name(run.internal.suberror) +
            " (KVM_EXIT_INTERNAL_ERROR, suberror " + std::to_string(run.internal.suberror) + ")");
      return false;
    default:
      if (wiring_.exit_log) {
        wiring_.exit_log->record(index(), "exit-reason=" + std::to_string(run.exit_reason));
      }
      crash("unhandled exit reason " + std::to_string(run.exit_reason));
      return false;
  }
}

void Vcpu::handle_pio(kvm_run& run) {
  const size_t size = run.io.size;
  const size_t count = run.io.count;
  // KVM's own values, but checked anyway: a bad offset here would let a
  // kernel bug become a kvmm memory corruption.
  const std::span<uint8_t> area = kvm_.run_bytes();
  if ((size != 1 && size != 2 && size != 4) || count == 0 || run.io.data_offset > area.size() ||
      count > (area.size() - run.io.data_offset) / size) {
    crash("KVM reported a malformed port I/O exit (size " + std::to_string(size) + ", count " +
          std::to_string(count) + ")");
    return;
  }
  const std::span<uint8_t> data = area.subspan(run.io.data_offset, size * count);
  const bool is_out = run.io.direction == KVM_EXIT_IO_OUT;
  // `rep ins/outs` arrive as one exit with count elements, each its own access.
  for (size_t i = 0; i < count; ++i) {
    const std::span<uint8_t> element = data.subspan(i * size, size);
    if (is_out) {
      wiring_.pio->write(run.io.port, element);
    } else {
      wiring_.pio->read(run.io.port, element);
    }
  }
  if (wiring_.exit_log) {
    wiring_.exit_log->record(index(), std::string(is_out ? "pio-out" : "pio-in") + " port=" +
                                          hex(run.io.port) + " size=" + std::to_string(size) +
                                          " count=" + std::to_string(count) +
                                          " data=" + join_elements(data, size, count));
  }
}

void Vcpu::handle_mmio(kvm_run& run) {
  const size_t len = run.mmio.len;
  if (len == 0 || len > sizeof(run.mmio.data)) {
    crash("KVM reported a malformed MMIO exit (length " + std::to_string(len) + ")");
    return;
  }
  const std::span<uint8_t> data(run.mmio.data, len);
  if (run.mmio.is_write) {
    wiring_.mmio->write(run.mmio.phys_addr, data);
  } else {
    wiring_.mmio->read(run.mmio.phys_addr, data);
  }
  if (wiring_.exit_log) {
    wiring_.exit_log->record(index(), std::string(run.mmio.is_write ? "mmio-write" : "mmio-read") +
                                          " addr=" + hex(run.mmio.phys_addr) +
                                          " size=" + std::to_string(len) +
                                          " data=" + hex_le(data));
  }
}

void Vcpu::crash(std::string what) {
  std::string message = "vCPU " + std::to_string(index()) + ": " + std::move(what);
  try {
    message += "\n" + format_registers(kvm_.regs(), kvm_.sregs());
  } catch (const Error&) {
    // Registers are a diagnostic extra; the crash itself is what matters.
  }
  wiring_.stop->request_stop(RunOutcome{kExitGuestCrashed, std::move(message)});
}

}  // namespace kvmm

// The control calls of a running machine: pause, resume, power off, and the
// live views of its vCPU threads (machine.h, "Threads").
#include <chrono>

#include "base/util/error.h"
#include "base/util/log.h"
#include "vmm/boot/acpi/acpi_tables.h"
#include "vmm/machine/machine.h"

namespace kvmm {

namespace {

// A vCPU leaves KVM_RUN within microseconds of its kick; one that has not
// parked after this long is stuck in a host call, and the pause is refused.
constexpr std::chrono::milliseconds kParkTimeout{5000};

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void require_state(VmState now, VmState wanted, std::string_view action) {
  if (now == wanted) return;
  throw Error("cannot " + std::string(action) + ": the VM is " + std::string(vm_state_name(now)));
}

}  // namespace

double Machine::uptime_seconds() const {
  const int64_t started = started_ns_.load(std::memory_order_acquire);
  if (started == 0) return 0;
  return static_cast<double>(steady_now_ns() - started) / 1e9;
}

void Machine::mark_running() {
  started_ns_.store(steady_now_ns(), std::memory_order_release);
  VmState starting = VmState::kStarting;
  state_.compare_exchange_strong(starting, VmState::kRunning);
}

void Machine::mark_stopping() {
  state_.store(VmState::kStopping, std::memory_order_release);
  pause_gate_.release_for_stop();
}

void Machine::pause() {
  std::lock_guard lock(control_mutex_);
  require_state(state(), VmState::kRunning, "pause");
  pause_gate_.request_pause();
  for (const auto& vcpu : vcpus_) vcpu->kick();
  if (!pause_gate_.wait_until_parked(kParkTimeout)) {
    pause_gate_.resume();
    throw Error("cannot pause: " + std::to_string(vcpus_.size() - pause_gate_.parked()) +
                " vCPUs did not leave the guest within " +
                std::to_string(kParkTimeout.count()) + " ms; the VM runs on");
  }
  if (stop_.stop_requested()) throw Error("cannot pause: the VM is stopping");
  // With every vCPU parked, no new request reaches a device; each finishes
  // what it has in flight and parks its I/O thread.
  virtio_.pause_all();
  VmState running = VmState::kRunning;
  if (!state_.compare_exchange_strong(running, VmState::kPaused)) {
    virtio_.resume_all();
    throw Error("cannot pause: the VM is stopping");
  }
}

void Machine::resume() {
  std::lock_guard lock(control_mutex_);
  require_state(state(), VmState::kPaused, "resume");
  virtio_.resume_all();
  VmState paused = VmState::kPaused;
  state_.compare_exchange_strong(paused, VmState::kRunning);
  pause_gate_.resume();
}

void Machine::request_sleep(uint8_t sleep_type) {
  if (sleep_type == kAcpiS5SleepType) {
    guest_powered_off();
    return;
  }
  if (sleep_type != kAcpiS3SleepType) {
    sleep_log_.log("ignored a request for SLP_TYP " + std::to_string(sleep_type) +
                   " in PM1a_CNT: only S3 (" + std::to_string(kAcpiS3SleepType) + ") and S5 (" +
                   std::to_string(kAcpiS5SleepType) + ") are supported");
    return;
  }
  // This vCPU parks before its next KVM_RUN (its loop looks at the gate
  // first); the others are kicked out of the guest.
  pause_gate_.request_suspend();
  for (const auto& vcpu : vcpus_) vcpu->kick();
  sleep_event_.signal();
}

void Machine::enter_sleep() {
  std::lock_guard lock(control_mutex_);
  if (asleep_) return;
  if (!pause_gate_.wait_until_parked(kParkTimeout)) {
    stop_.request_stop(RunOutcome{
        kExitGuestCrashed, "the guest asked for S3 but " +
                               std::to_string(vcpus_.size() - pause_gate_.parked()) +
                               " vCPUs did not leave the guest within " +
                               std::to_string(kParkTimeout.count()) + " ms"});
    return;
  }
  asleep_ = true;
  trace_.mark("guest suspended (S3)");
  // Paused by the API meanwhile: its devices are quiesced already, and its
  // resume() does not end the sleep (the gate holds the vCPUs).
  VmState running = VmState::kRunning;
  if (state_.compare_exchange_strong(running, VmState::kSuspended)) virtio_.pause_all();
}

void Machine::wake_from_sleep() {
  std::lock_guard lock(control_mutex_);
  if (!asleep_) return;
  asleep_ = false;
  trace_.mark("guest woken (S3)");
  platform_.pm1->set_woken();
  VmState suspended = VmState::kSuspended;
  if (state_.compare_exchange_strong(suspended, VmState::kRunning)) virtio_.resume_all();
  pause_gate_.end_suspend();
}

void Machine::power_off(std::string reason) {
  stop_.request_stop(RunOutcome{kExitOk, std::move(reason)});
}

void Machine::guest_powered_off() {
  trace_.mark("guest powered off");
  power_off("");
}

std::vector<VcpuThreadInfo> Machine::vcpu_threads() const {
  std::vector<VcpuThreadInfo> threads;
  for (const auto& vcpu : vcpus_) threads.push_back(read_vcpu_thread_info(vcpu->index(), vcpu->tid()));
  return threads;
}

std::vector<VcpuStats> Machine::live_stats() const {
  std::vector<VcpuStats> stats;
  for (const auto& vcpu : vcpus_) stats.push_back(vcpu->live_stats());
  return stats;
}

}  // namespace kvmm

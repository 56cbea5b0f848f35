#pragma once
// Where vCPU threads park while the VM is paused (`kvmm pause`, PUT
// vm.pause). The pausing thread raises the request, kicks every vCPU out of
// KVM_RUN, and waits until each has parked here or ended; resume() lets them
// go. A stop wins over a pause: release_for_stop() wakes parked threads so
// that they see the stop and end.
//
// The guest's own sleep (ACPI S3, suspend to RAM) parks the vCPUs here too,
// for a second reason that the API's resume() does not clear: between
// request_suspend() and end_suspend() they stay parked, and each one that
// was parked when end_suspend() came leaves park() with kWoke, so that it
// resets itself as a waking machine's processors are reset.
//
// Threads: request_pause(), wait_until_parked(), resume(), request_suspend()
// and end_suspend() are called by one controlling thread at a time (the
// machine serialises them), except that a vCPU thread may call
// request_suspend() for the guest it runs;
// pause_requested(), park() and retire() by vCPU threads for themselves;
// release_for_stop() by the thread that joins the vCPUs.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace kvmm {

class PauseGate {
 public:
  explicit PauseGate(uint32_t vcpus) : vcpus_(vcpus) {}

  // One load on the vCPU's exit path: false while the VM runs.
  bool pause_requested() const { return requested_.load(std::memory_order_acquire); }

  void request_pause();
  // The guest asked to sleep: park every vCPU until end_suspend().
  void request_suspend();
  // The guest wakes: parked vCPUs leave park() with kWoke (once any API
  // pause is over too).
  void end_suspend();
  // True once every vCPU has parked or ended; false after `timeout` (a vCPU
  // stuck in a host call), and then the request stands until resume().
  bool wait_until_parked(std::chrono::milliseconds timeout);
  void resume();
  uint32_t parked() const;

  // On a vCPU thread that saw pause_requested(): blocks until neither a
  // pause nor a suspend holds it, or release_for_stop(). kWoke: a suspend
  // ended while this thread was parked (and no stop came).
  enum class ParkEnd { kResumed, kWoke };
  ParkEnd park();
  // On a vCPU thread that leaves its loop for good: it counts as parked, so
  // a pause during a stop does not wait for it.
  void retire();
  void release_for_stop();

 private:
  const uint32_t vcpus_;
  // Set while paused_ or suspended_: the one load of pause_requested().
  std::atomic<bool> requested_{false};
  mutable std::mutex mutex_;  // Guards the members below, and requested_'s changes.
  std::condition_variable changed_;
  bool paused_ = false;     // By the API.
  bool suspended_ = false;  // By the guest (S3).
  uint64_t wakes_ = 0;      // end_suspend() calls, for park()'s kWoke.
  uint32_t parked_ = 0;
  uint32_t retired_ = 0;
  bool stopping_ = false;
};

}  // namespace kvmm

#pragma once
// Where vCPU threads park while the VM is paused (`kvmm pause`, PUT
// vm.pause). The pausing thread raises the request, kicks every vCPU out of
// KVM_RUN, and waits until each has parked here or ended; resume() lets them
// go. A stop wins over a pause: release_for_stop() wakes parked threads so
// that they see the stop and end.
//
// Threads: request_pause(), wait_until_parked() and resume() are called by
// one controlling thread at a time (the machine serialises them);
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
  // True once every vCPU has parked or ended; false after `timeout` (a vCPU
  // stuck in a host call), and then the request stands until resume().
  bool wait_until_parked(std::chrono::milliseconds timeout);
  void resume();
  uint32_t parked() const;

  // On a vCPU thread that saw pause_requested(): blocks until resume() or
  // release_for_stop().
  void park();
  // On a vCPU thread that leaves its loop for good: it counts as parked, so
  // a pause during a stop does not wait for it.
  void retire();
  void release_for_stop();

 private:
  const uint32_t vcpus_;
  std::atomic<bool> requested_{false};
  mutable std::mutex mutex_;  // Guards the members below.
  std::condition_variable changed_;
  uint32_t parked_ = 0;
  uint32_t retired_ = 0;
  bool stopping_ = false;
};

}  // namespace kvmm

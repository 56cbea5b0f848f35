#include "vmm/cpu/pause_gate.h"

namespace kvmm {

void PauseGate::request_pause() {
  std::lock_guard lock(mutex_);
  paused_ = true;
  requested_.store(true, std::memory_order_release);
}

void PauseGate::request_suspend() {
  std::lock_guard lock(mutex_);
  suspended_ = true;
  requested_.store(true, std::memory_order_release);
}

void PauseGate::end_suspend() {
  {
    std::lock_guard lock(mutex_);
    suspended_ = false;
    ++wakes_;
    requested_.store(paused_, std::memory_order_release);
  }
  changed_.notify_all();
}

bool PauseGate::wait_until_parked(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout,
                           [this] { return stopping_ || parked_ + retired_ >= vcpus_; });
}

void PauseGate::resume() {
  {
    std::lock_guard lock(mutex_);
    paused_ = false;
    requested_.store(suspended_, std::memory_order_release);
  }
  changed_.notify_all();
}

uint32_t PauseGate::parked() const {
  std::lock_guard lock(mutex_);
  return parked_;
}

PauseGate::ParkEnd PauseGate::park() {
  std::unique_lock lock(mutex_);
  const uint64_t wakes = wakes_;
  ++parked_;
  changed_.notify_all();
  changed_.wait(lock, [this] { return (!paused_ && !suspended_) || stopping_; });
  --parked_;
  return wakes_ != wakes && !stopping_ ? ParkEnd::kWoke : ParkEnd::kResumed;
}

void PauseGate::retire() {
  {
    std::lock_guard lock(mutex_);
    ++retired_;
  }
  changed_.notify_all();
}

void PauseGate::release_for_stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
}

}  // namespace kvmm

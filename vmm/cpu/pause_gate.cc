#include "vmm/cpu/pause_gate.h"

namespace kvmm {

void PauseGate::request_pause() {
  std::lock_guard lock(mutex_);
  requested_.store(true, std::memory_order_release);
}

bool PauseGate::wait_until_parked(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout,
                           [this] { return stopping_ || parked_ + retired_ >= vcpus_; });
}

void PauseGate::resume() {
  {
    std::lock_guard lock(mutex_);
    requested_.store(false, std::memory_order_release);
  }
  changed_.notify_all();
}

uint32_t PauseGate::parked() const {
  std::lock_guard lock(mutex_);
  return parked_;
}

void PauseGate::park() {
  std::unique_lock lock(mutex_);
  ++parked_;
  changed_.notify_all();
  changed_.wait(lock, [this] { return !requested_.load(std::memory_order_relaxed) || stopping_; });
  --parked_;
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

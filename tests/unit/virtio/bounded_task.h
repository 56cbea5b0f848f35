#pragma once
// Waits in tests that fail instead of hanging: eventually() polls a
// condition for up to 10 s; BoundedTask runs work that might hang (a pause,
// a reset of a paused device) on its own thread and gives it 10 s. Neither
// measures time: the bounds only turn a hang into a failure.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

namespace kvmm::testing {

inline constexpr auto kHangBound = std::chrono::seconds(10);

template <typename Predicate>
bool eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + kHangBound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A test that lets the task hang fails by aborting in the destructor: the
// thread cannot be joined, and the objects it uses are about to go.
class BoundedTask {
 public:
  explicit BoundedTask(std::function<void()> work)
      : thread_([this, work = std::move(work)] {
          work();
          std::lock_guard lock(mutex_);
          done_ = true;
          finished_.notify_all();
        }) {}
  ~BoundedTask() {
    if (!wait()) {
      std::fputs("a test task hung (a pause, reset or stop that never returns); aborting\n", stderr);
      std::abort();
    }
    thread_.join();
  }
  BoundedTask(const BoundedTask&) = delete;
  BoundedTask& operator=(const BoundedTask&) = delete;

  // Whether the work has returned, without waiting.
  bool finished() {
    std::lock_guard lock(mutex_);
    return done_;
  }
  // Waits up to kHangBound for the work to return.
  bool wait() {
    std::unique_lock lock(mutex_);
    return finished_.wait_for(lock, kHangBound, [this] { return done_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false;
  std::thread thread_;  // Last: started once the members above exist.
};

}  // namespace kvmm::testing

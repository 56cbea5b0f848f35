#include "base/util/thread_launcher.h"

#include <pthread.h>

#include <future>
#include <system_error>

#include "base/util/error.h"
#include "base/util/stop_signals.h"
#include "base/util/thread_role.h"

namespace kvmm {

namespace {

// The installed launcher. g_install_mutex is held across a whole start
// through it, so the launcher cannot be destroyed under a caller.
std::mutex g_install_mutex;
ThreadLauncher* g_installed = nullptr;

std::string failure(const std::string& name, const char* what) {
  return name + ": cannot start its thread: " + what +
         "; the host is out of threads or memory (ulimit -u, free memory)";
}

}  // namespace

std::thread ThreadLauncher::create_std_thread(std::function<void()> body) {
  return std::thread(std::move(body));
}

ThreadLauncher::ThreadLauncher(Create create) : create_(create) {
  std::lock_guard install(g_install_mutex);
  if (g_installed != nullptr) throw Error("a thread launcher is already installed (a kvmm bug)");
  std::promise<void> confined;
  std::future<void> ready = confined.get_future();
  try {
    thread_ = std::thread([this, confined = std::move(confined)]() mutable {
      ::pthread_setname_np(::pthread_self(), "launcher");
      // Every thread it creates inherits this mask: no stop signal ever
      // reaches one (base/util/stop_signals.h), whoever asked for it.
      const sigset_t stop = stop_signals();
      ::pthread_sigmask(SIG_BLOCK, &stop, nullptr);
      on_thread_start(ThreadRole::kLauncher);
      confined.set_value();
      run();
    });
  } catch (const std::system_error& e) {
    throw Error(failure("launcher", e.what()));
  }
  ready.wait();
  g_installed = this;
}

ThreadLauncher::~ThreadLauncher() {
  {
    std::lock_guard install(g_install_mutex);  // Waits for a start in progress.
    g_installed = nullptr;
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

std::thread ThreadLauncher::start(const std::string& name, std::function<void()> body) {
  std::lock_guard serial(start_mutex_);
  std::unique_lock lock(mutex_);
  body_ = std::move(body);
  failure_.clear();
  requested_ = true;
  changed_.notify_all();
  changed_.wait(lock, [this] { return !requested_; });
  if (!failure_.empty()) throw Error(failure(name, failure_.c_str()));
  return std::move(started_);
}

void ThreadLauncher::run() noexcept {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return requested_ || stopping_; });
    if (!requested_) return;  // Stopping, and nobody waits.
    // Only the thread's creation runs here; the body runs on the new thread.
    try {
      started_ = create_(std::move(body_));
    } catch (const std::exception& e) {
      failure_ = e.what();  // std::system_error: EAGAIN, no thread or stack.
      if (failure_.empty()) failure_ = "an unnamed error";
    } catch (...) {
      failure_ = "an exception of unknown type";
    }
    body_ = nullptr;
    requested_ = false;
    changed_.notify_all();
  }
}

std::thread start_thread(const std::string& name, std::function<void()> body) {
  std::lock_guard install(g_install_mutex);
  if (g_installed != nullptr) return g_installed->start(name, std::move(body));
  try {
    return std::thread(std::move(body));
  } catch (const std::system_error& e) {
    throw Error(failure(name, e.what()));
  }
}

}  // namespace kvmm

#include "devices/virtio/io_thread.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <future>
#include <memory>

#include "base/util/error.h"
#include "base/util/log.h"
#include "base/util/thread_launcher.h"

namespace kvmm {

namespace {

// The stop and pause eventfds' epoll sources; devices number theirs from 0.
constexpr uint64_t kStopSource = UINT64_MAX;
constexpr uint64_t kPauseSource = UINT64_MAX - 1;
// How often pause() says what it still waits for.
constexpr auto kPauseLogInterval = std::chrono::seconds(5);

}  // namespace

IoThread::IoThread(std::string name, std::optional<ThreadRole> role)
    : name_(std::move(name)), role_(role), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_.valid()) throw_errno(name_ + ": cannot create its epoll fd");
  if (!control(EPOLL_CTL_ADD, stop_.get(), EPOLLIN, kStopSource)) {
    throw_errno(name_ + ": cannot watch its stop eventfd");
  }
  if (!control(EPOLL_CTL_ADD, pause_.get(), EPOLLIN, kPauseSource)) {
    throw_errno(name_ + ": cannot watch its pause eventfd");
  }
}

IoThread::~IoThread() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(pause_mutex_);
    stopping_ = true;  // Wakes park(): stop wins over a pause.
  }
  pause_changed_.notify_all();
  stop_.signal();
  thread_.join();
}

bool IoThread::control(int op, int fd, uint32_t events, uint64_t source) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = source;
  if (::epoll_ctl(epoll_.get(), op, fd, op == EPOLL_CTL_DEL ? nullptr : &event) != 0) return false;
  if (op == EPOLL_CTL_ADD) ++watched_;
  if (op == EPOLL_CTL_DEL) --watched_;
  return true;
}

bool IoThread::watch(int fd, uint32_t events, uint64_t source) {
  if (control(EPOLL_CTL_ADD, fd, events, source)) return true;
  if (!started_) throw_errno(name_ + ": cannot watch fd " + std::to_string(fd));
  log_line(name_ + ": epoll_ctl failed: " + std::strerror(errno) + "; the device stops");
  return false;
}

bool IoThread::modify(int fd, uint32_t events, uint64_t source) {
  if (control(EPOLL_CTL_MOD, fd, events, source)) return true;
  log_line(name_ + ": epoll_ctl failed: " + std::strerror(errno) + "; the device stops");
  return false;
}

bool IoThread::unwatch(int fd) {
  if (control(EPOLL_CTL_DEL, fd, 0, 0)) return true;
  log_line(name_ + ": epoll_ctl failed: " + std::strerror(errno) + "; the device stops");
  return false;
}

void IoThread::inject_test_fault() const {
  // KVMM_TEST_IO_THREAD_FAULT=NAME: the first I/O thread of that name throws
  // as its body starts, once per process, so a test can show what a bug in
  // a device thread costs (that device, not kvmm) and that a reset by the
  // guest brings the device back.
  static std::atomic<bool> fired{false};
  const char* name = std::getenv("KVMM_TEST_IO_THREAD_FAULT");
  if (name == nullptr || name_ != name || fired.exchange(true)) return;
  throw std::runtime_error("fault injected by KVMM_TEST_IO_THREAD_FAULT");
}

void IoThread::run_body(const std::function<void(IoThread&)>& body,
                        const std::function<void()>& on_fault) noexcept {
  // The top of the thread: nothing may escape to std::terminate, which
  // would take the whole VM (and the user's terminal mode) down with it.
  std::string what;
  try {
    inject_test_fault();
    body(*this);
    return;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "an exception of unknown type";
  }
  try {
    log_line(name_ + ": internal error on the I/O thread: " + what +
             "; the device stops and needs a reset by the guest");
    if (on_fault) on_fault();
  } catch (...) {
    // Out of memory even for the log line: the device stays stopped.
  }
}

void IoThread::start(std::function<void(IoThread&)> body, std::function<void()> on_fault) {
  started_ = true;
  // The thread names itself (prctl; naming another thread opens a /proc
  // file, which seccomp filters refuse) and loads its filter before the body
  // runs; start() waits for both, so the name is there as soon as it returns
  // (`ps -T`, tests). At most 15 characters. Shared: a thread's function is
  // copyable (std::function).
  auto confined = std::make_shared<std::promise<void>>();
  std::future<void> ready = confined->get_future();
  // A pause() before start() parks the thread before its body; one after
  // start() returns reaches the body through wait(), as any later one.
  bool park_first;
  {
    std::lock_guard lock(pause_mutex_);
    park_first = pause_requested_;
  }
  try {
    // Through the launcher (base/util/thread_launcher.h): the thread does
    // not inherit the filter of the vCPU thread that activates the device.
    thread_ = start_thread(name_, [this, park_first, confined, body = std::move(body),
                                   on_fault = std::move(on_fault)] {
      ::pthread_setname_np(::pthread_self(), name_.substr(0, 15).c_str());
      if (role_) on_thread_start(*role_);
      confined->set_value();
      bool run = true;
      if (park_first) {
        // Started while the VM is paused: nothing may run until resume().
        std::unique_lock lock(pause_mutex_);
        run = park_locked(lock) != Wake::kStop;
      }
      if (run) run_body(body, on_fault);
      {
        std::lock_guard lock(pause_mutex_);
        ended_ = true;  // A pause() waiting for a body that ended returns.
      }
      pause_changed_.notify_all();
    });
  } catch (const Error&) {
    started_ = false;
    throw;
  }
  ready.wait();
}

IoThread::Wake IoThread::wait(int timeout_ms) {
  // Room for every watched source: level-triggered epoll then reports each
  // ready one, the stop eventfd included, in a single call.
  events_.resize(watched_);
  ready_.clear();
  int n;
  do {
    n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    log_line(name_ + ": epoll_wait failed: " + std::strerror(errno) + "; the device stops");
    return Wake::kFailed;
  }
  bool pause = false;
  for (int i = 0; i < n; ++i) {
    if (events_[i].data.u64 == kStopSource) return Wake::kStop;
    if (events_[i].data.u64 == kPauseSource) {
      // Drained before the request is read: a pause() after this check
      // signals again and wakes the next wait(). A signal whose pause was
      // already withdrawn by resume() is dropped here.
      drain(pause_.get());
      pause = pause_requested();
      continue;
    }
    ready_.push_back({events_[i].data.u64, events_[i].events});
  }
  if (pause) {
    // The ready sources stay ready (level-triggered): the first wait()
    // after resume reports them again.
    ready_.clear();
    return Wake::kPause;
  }
  return Wake::kReady;
}

bool IoThread::pause_requested() {
  std::lock_guard lock(pause_mutex_);
  return pause_requested_;
}

void IoThread::pause() {
  std::unique_lock lock(pause_mutex_);
  pause_requested_ = true;
  if (!thread_.joinable()) return;  // Not started: it parks before its body (start()).
  pause_.signal();
  while (!pause_changed_.wait_for(lock, kPauseLogInterval, [this] { return parked_ || ended_; })) {
    log_line(name_ + ": pause still waits for the I/O thread to finish its work in flight");
  }
}

void IoThread::resume() {
  {
    std::lock_guard lock(pause_mutex_);
    pause_requested_ = false;
  }
  pause_changed_.notify_all();
}

IoThread::Wake IoThread::park() {
  std::unique_lock lock(pause_mutex_);
  return park_locked(lock);
}

IoThread::Wake IoThread::park_locked(std::unique_lock<std::mutex>& lock) {
  ready_.clear();
  if (stopping_) return Wake::kStop;
  if (!pause_requested_) return Wake::kReady;
  parked_ = true;
  pause_changed_.notify_all();
  pause_changed_.wait(lock, [this] { return !pause_requested_ || stopping_; });
  parked_ = false;
  return stopping_ ? Wake::kStop : Wake::kReady;
}

void IoThread::drain(int eventfd) {
  // Poll first: an eventfd handed over by a test (or a transport) may be blocking.
  pollfd readable{eventfd, POLLIN, 0};
  if (::poll(&readable, 1, 0) <= 0) return;
  uint64_t count;
  while (::read(eventfd, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
}

}  // namespace kvmm

#pragma once
// The I/O thread of a virtio device (virtio-blk0, virtio-net0, …) and its one
// epoll/stop loop: an epoll fd for the device's sources (queue notify
// eventfds, I/O completions, a tap), a stop eventfd, and the named thread.
//
// Threads: the owner (the device, on a vCPU thread in activate()/reset())
// constructs it, adds the first watches, start()s it and destroys it, which
// stops and joins the thread. start() has the launcher create the thread,
// where one runs (base/util/thread_launcher.h), so it never inherits the
// vCPU's seccomp filter. Between start() and destruction only the I/O
// thread calls wait(), watch(), modify(), unwatch() and park().
//
// Pause (a VM pause): the owner calls pause() and resume() from the thread
// pausing the VM, one call at a time with its other calls (the transport's
// mutex serialises them), so they never race start() or destruction. pause() asks the I/O thread to stop working: its
// wait() reports kPause, the body finishes what it must (a disk reaps the
// host I/O it has in flight) and calls park(), which acknowledges and blocks
// until resume() or stop. pause() returns once that acknowledgement is there.
// Stop wins: destroying a paused IoThread wakes park() with kStop. Sources
// that become ready while parked (level-triggered epoll, eventfd counts)
// are reported by the first wait() after resume. pause_mutex_ guards the
// pause state below; the thread sleeps on pause_changed_, never spins.
#include <sys/epoll.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/util/event_fd.h"
#include "base/util/thread_role.h"
#include "base/util/unique_fd.h"

namespace kvmm {

class IoThread {
 public:
  // What wait() woke for.
  enum class Wake {
    kReady,   // ready() holds the sources that are ready (maybe none, on a timeout)
    kStop,    // the owner is destroying the thread: return from the body
    kFailed,  // epoll failed (logged once): the device must stop
    kPause,   // pause() was called: finish what must finish, then park()
  };
  struct Ready {
    uint64_t source;  // As given to watch().
    uint32_t events;  // EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP
  };

  // Creates the epoll fd and the stop eventfd; throws Error when the kernel
  // refuses (fd limit). `name` names the thread and the log lines; with a
  // `role`, the thread calls on_thread_start(role) before its body (the vmm
  // layer's seccomp filter for that role).
  explicit IoThread(std::string name, std::optional<ThreadRole> role = std::nullopt);
  // Signals stop and joins the thread, parked or not.
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  const std::string& name() const { return name_; }

  // Watches `fd` for `events` (level-triggered), reported as `source`. Before
  // start() a failure throws Error (the device cannot be activated); on the
  // I/O thread it is logged and returns false: the caller stops the device.
  bool watch(int fd, uint32_t events, uint64_t source);
  bool modify(int fd, uint32_t events, uint64_t source);
  bool unwatch(int fd);

  // Runs `body` on a new thread named name(), started through
  // start_thread(), once the thread has named and confined itself (it
  // returns after both); throws Error when no thread can be started. An
  // exception escaping `body` (a kvmm bug, or the host
  // refusing memory) ends the thread, not kvmm: it is logged in one line and
  // `on_fault` runs on the I/O thread, for the device to set
  // DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2); the guest's driver may reset it.
  void start(std::function<void(IoThread&)> body, std::function<void()> on_fault = {});

  // On the I/O thread: waits up to timeout_ms (-1: until something happens,
  // 0: only looks). EINTR is retried. A stop request wins over a pause
  // request, and both over ready sources (those stay ready and are reported
  // by a later wait()).
  Wake wait(int timeout_ms = -1);
  std::span<const Ready> ready() const { return ready_; }

  // From the owner's side: asks the thread to park and waits until it has
  // (or has ended). Before start() it only records the request: the thread
  // then parks before its body runs, and a stop while parked skips the body.
  // The wait lasts as long as the body's own finishing work (a disk's host
  // I/O in flight); it never times out, because returning early would let
  // that work touch guest memory during the pause, but it logs every few
  // seconds what it still waits for, so a hang is visible.
  void pause();
  // Lets a parked thread go on; does nothing when not paused.
  void resume();
  // On the I/O thread, after wait() reported kPause: acknowledges the pause
  // and sleeps until resume() (kReady: carry on, with ready() empty) or stop
  // (kStop: return from the body). Returns kReady at once when the pause was
  // already withdrawn.
  Wake park();

  // Reads an eventfd's count, if any, without blocking.
  static void drain(int eventfd);

 private:
  bool control(int op, int fd, uint32_t events, uint64_t source);
  void inject_test_fault() const;
  void run_body(const std::function<void(IoThread&)>& body,
                const std::function<void()>& on_fault) noexcept;
  Wake park_locked(std::unique_lock<std::mutex>& lock);
  bool pause_requested();

  const std::string name_;
  const std::optional<ThreadRole> role_;
  UniqueFd epoll_;
  EventFd stop_;
  EventFd pause_;  // Wakes wait() for a pause request; the request is pause_requested_.
  bool started_ = false;  // Set before the thread exists, so it sees it.
  size_t watched_ = 0;
  std::vector<epoll_event> events_;
  std::vector<Ready> ready_;
  std::thread thread_;

  std::mutex pause_mutex_;
  std::condition_variable pause_changed_;
  bool pause_requested_ = false;  // Between pause() and resume().
  bool parked_ = false;           // The thread sleeps in park().
  bool stopping_ = false;         // The destructor runs: park() returns kStop.
  bool ended_ = false;            // The thread's body has returned (or never ran).
};

}  // namespace kvmm

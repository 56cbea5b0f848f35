#pragma once
// The thread that starts kvmm's threads for others (`launcher`), so that a
// thread's creator is never the thread that happens to ask for it.
//
// A thread inherits its creator's seccomp filter, and filters only narrow
// (docs/security.md). A device's I/O thread asked for by the vCPU thread that
// wrote DRIVER_OK would run under the vCPU's filter, which would then have to
// allow every call of every I/O thread. Created by the launcher instead, it
// inherits the launcher's filter (the calls that start a thread, and the union
// of the lists of the threads it starts) and then narrows it with its own;
// the vCPU's filter holds only what the vCPU does. The launcher also gives its
// threads a signal mask with the stop signals blocked, and none of the
// scheduling or pinning of the thread that asked (a vCPU's --pin and
// --vcpu-sched).
//
// The launcher runs nothing of what it is handed: `body` runs on the new
// thread only, so nothing the guest influences ever runs on the launcher.
//
// One process-wide: a ThreadLauncher installs itself when constructed and
// uninstalls itself when destroyed; start_thread() goes through it. Where none
// is installed (unit tests, `kvmm bench`, before the machine runs), threads
// start directly from their caller, as std::thread does.
//
// Threads: the owner constructs and destroys it, once no thread asks for one
// any more; any thread may call start() and start_thread() in between, one
// request at a time (the others wait). The threads it started are their
// callers' to join, before or after the launcher is gone.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace kvmm {

class ThreadLauncher {
 public:
  // Makes the thread for start(); std::thread's constructor unless a test
  // makes it fail. It runs on the launcher.
  using Create = std::thread (*)(std::function<void()> body);
  static std::thread create_std_thread(std::function<void()> body);

  // Starts the launcher thread, which names itself "launcher", blocks the
  // stop signals and calls on_thread_start(ThreadRole::kLauncher) (its
  // seccomp filter), and installs it process-wide; returns once that is done.
  // Throws Error when the thread cannot be started or another launcher is
  // installed.
  explicit ThreadLauncher(Create create = create_std_thread);
  // Uninstalls it (waiting for a start() in progress) and joins the launcher.
  ~ThreadLauncher();
  ThreadLauncher(const ThreadLauncher&) = delete;
  ThreadLauncher& operator=(const ThreadLauncher&) = delete;

  // Has the launcher create a thread that runs `body`, and returns it once
  // it exists. Throws Error, naming `name`, when it cannot be created.
  std::thread start(const std::string& name, std::function<void()> body);

 private:
  void run() noexcept;

  const Create create_;
  std::mutex start_mutex_;  // One start() at a time.
  std::mutex mutex_;        // Guards the request below and stopping_.
  std::condition_variable changed_;
  std::function<void()> body_;
  bool requested_ = false;  // body_ waits for the launcher.
  std::thread started_;     // What the last request made.
  std::string failure_;     // Why it made nothing ("" when it did).
  bool stopping_ = false;
  std::thread thread_;      // The launcher.
};

// Starts `body` on a new thread through the installed launcher, or directly
// when none is; returns once the thread exists. Throws Error naming `name`
// ("virtio-blk0") when no thread can be started.
std::thread start_thread(const std::string& name, std::function<void()> body);

}  // namespace kvmm

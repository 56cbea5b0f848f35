// The thread launcher (base/util/thread_launcher.h): the threads it starts run
// their bodies on threads of its making, which inherit its signal mask rather
// than their caller's; start() returns once the thread exists; a thread that
// cannot be created is an Error naming it; destroying the launcher joins it,
// leaves the threads it started running, and start_thread() then starts
// threads directly again.
#include <catch2/catch.hpp>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <future>
#include <system_error>
#include <thread>

#include "base/util/error.h"
#include "base/util/thread_launcher.h"

using kvmm::ThreadLauncher;

namespace {

// Whether SIGHUP (a stop signal) is blocked in the calling thread.
bool sighup_blocked() {
  sigset_t mask;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, SIGHUP) == 1;
}

// Runs the test with SIGHUP unblocked in this thread, as a caller the
// launcher must not take its mask from.
class SighupUnblocked {
 public:
  SighupUnblocked() {
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    ::pthread_sigmask(SIG_UNBLOCK, &hup, &previous_);
  }
  ~SighupUnblocked() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t previous_;
};

std::thread refuse(std::function<void()>) {
  throw std::system_error(EAGAIN, std::generic_category(), "pthread_create");
}

}  // namespace

TEST_CASE("a thread started by the launcher runs its body on a thread of its own",
          "[threads]") {
  ThreadLauncher launcher;
  std::promise<std::thread::id> ran_on;
  std::thread thread =
      launcher.start("test", [&] { ran_on.set_value(std::this_thread::get_id()); });
  // It exists once start() returns: a joinable thread with an id of its own.
  REQUIRE(thread.joinable());
  const std::thread::id id = thread.get_id();
  CHECK(id != std::this_thread::get_id());
  thread.join();
  CHECK(ran_on.get_future().get() == id);
}

TEST_CASE("start() waits for the thread to exist, not for its body to end", "[threads]") {
  ThreadLauncher launcher;
  std::promise<void> go;
  std::shared_future<void> released = go.get_future().share();
  std::atomic<bool> done{false};
  std::thread thread = launcher.start("test", [&, released] {
    released.wait();
    done = true;
  });
  REQUIRE(thread.joinable());
  CHECK_FALSE(done.load());  // Its body is still blocked: start() did not wait for it.
  go.set_value();
  thread.join();
  CHECK(done.load());
}

TEST_CASE("the launcher's threads block the stop signals whoever asks for them", "[threads]") {
  const SighupUnblocked unblocked;
  REQUIRE_FALSE(sighup_blocked());
  std::promise<bool> blocked;
  SECTION("through the installed launcher") {
    ThreadLauncher launcher;
    std::thread thread = kvmm::start_thread("test", [&] { blocked.set_value(sighup_blocked()); });
    thread.join();
    CHECK(blocked.get_future().get());
  }
  SECTION("without one, a thread is the caller's child and has its mask") {
    std::thread thread = kvmm::start_thread("test", [&] { blocked.set_value(sighup_blocked()); });
    thread.join();
    CHECK_FALSE(blocked.get_future().get());
  }
}

TEST_CASE("a thread the launcher cannot create is an Error that names it", "[threads]") {
  ThreadLauncher launcher(refuse);
  bool ran = false;
  SECTION("from start()") {
    CHECK_THROWS_MATCHES(launcher.start("virtio-blk0", [&] { ran = true; }), kvmm::Error,
                         Catch::Matchers::Message(
                             "virtio-blk0: cannot start its thread: pthread_create: Resource "
                             "temporarily unavailable; the host is out of threads or memory "
                             "(ulimit -u, free memory)"));
  }
  SECTION("from start_thread(), through the installed launcher") {
    CHECK_THROWS_AS(kvmm::start_thread("virtio-net0", [&] { ran = true; }), kvmm::Error);
  }
  CHECK_FALSE(ran);
  // The launcher goes on serving (and refusing) requests.
  CHECK_THROWS_AS(launcher.start("virtio-net0", [] {}), kvmm::Error);
}

TEST_CASE("one launcher at a time, and once it is destroyed threads start directly again",
          "[threads]") {
  std::promise<void> go;
  std::shared_future<void> released = go.get_future().share();
  std::atomic<bool> done{false};
  std::thread outliving;
  {
    ThreadLauncher launcher;
    CHECK_THROWS_AS(ThreadLauncher(), kvmm::Error);
    outliving = kvmm::start_thread("test", [&, released] {
      released.wait();
      done = true;
    });
  }  // Joins the launcher, which does not wait for the threads it started.
  CHECK_FALSE(done.load());
  go.set_value();
  outliving.join();
  CHECK(done.load());

  const SighupUnblocked unblocked;
  std::promise<bool> blocked;
  std::thread direct = kvmm::start_thread("test", [&] { blocked.set_value(sighup_blocked()); });
  direct.join();
  CHECK_FALSE(blocked.get_future().get());  // The caller's mask: no launcher in between.
  ThreadLauncher again;  // And a new one may be installed.
}

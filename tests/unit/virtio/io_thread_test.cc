// devices/virtio/io_thread.h: the one epoll/stop loop of the virtio devices'
// I/O threads.
#include "devices/virtio/io_thread.h"

#include <signal.h>
#include <sys/epoll.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <fstream>
#include <string>
#include <thread>

#include "base/util/error.h"
#include "base/util/event_fd.h"
#include "base/util/thread_launcher.h"

using namespace kvmm;

namespace {

// Whether a thread of this process is called `name` (`ps -T` shows the same).
bool thread_named(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm == name) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("an I/O thread is named, reports its sources and stops when destroyed", "[threads]") {
  EventFd work;
  std::atomic<int> woken{0};
  std::atomic<bool> stopped{false};
  std::string name;
  {
    IoThread thread("virtio-test0");
    thread.watch(work.get(), EPOLLIN, 7);
    thread.start([&](IoThread& self) {
      for (;;) {
        const IoThread::Wake wake = self.wait();
        if (wake != IoThread::Wake::kReady) {
          stopped = wake == IoThread::Wake::kStop;
          return;
        }
        for (const IoThread::Ready& ready : self.ready()) {
          if (ready.source == 7 && (ready.events & EPOLLIN) != 0) {
            IoThread::drain(work.get());
            ++woken;
          }
        }
      }
    });
    CHECK(thread_named("virtio-test0"));  // Named before start() returns.
    work.signal();
    for (int i = 0; i < 1000 && woken == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // Bounds a hang only.
    }
    CHECK(woken >= 1);
  }  // The destructor stops and joins the thread.
  CHECK(stopped);
}

TEST_CASE("an I/O thread's wait with a zero timeout only looks", "[threads]") {
  IoThread thread("virtio-test1");
  EventFd idle;
  thread.watch(idle.get(), EPOLLIN, 1);
  std::atomic<int> rounds{0};
  std::atomic<bool> saw_nothing{false};
  thread.start([&](IoThread& self) {
    while (self.wait(0) == IoThread::Wake::kReady) {
      if (self.ready().empty()) saw_nothing = true;
      ++rounds;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  for (int i = 0; i < 1000 && rounds < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(saw_nothing);
}

TEST_CASE("watching a bad fd before start fails activation with an Error", "[threads]") {
  IoThread thread("virtio-test2");
  CHECK_THROWS_AS(thread.watch(-1, EPOLLIN, 0), Error);
}

TEST_CASE("an I/O thread started through the launcher runs, parks, resumes and stops",
          "[threads]") {
  // As a vCPU thread's DRIVER_OK does in kvmm run: the launcher creates the
  // thread, which takes its signal mask (SIGTERM blocked), not this one's.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigset_t previous;
  ::pthread_sigmask(SIG_UNBLOCK, &term, &previous);
  ThreadLauncher launcher;
  EventFd work;
  std::promise<bool> term_blocked;
  std::atomic<int> woken{0};
  std::atomic<bool> stopped{false};
  {
    IoThread thread("virtio-test9");
    thread.watch(work.get(), EPOLLIN, 3);
    thread.start([&](IoThread& self) {
      sigset_t mask;
      ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
      term_blocked.set_value(sigismember(&mask, SIGTERM) == 1);
      for (;;) {
        IoThread::Wake wake = self.wait();
        if (wake == IoThread::Wake::kPause) wake = self.park();
        if (wake == IoThread::Wake::kStop) {
          stopped = true;
          return;
        }
        if (wake != IoThread::Wake::kReady) return;
        for (const IoThread::Ready& ready : self.ready()) {
          if (ready.source == 3) {
            IoThread::drain(work.get());
            ++woken;
          }
        }
      }
    });
    CHECK(thread_named("virtio-test9"));
    CHECK(term_blocked.get_future().get());
    thread.pause();  // Returns once the thread is parked.
    thread.resume();
    work.signal();
    for (int i = 0; i < 1000 && woken == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // Bounds a hang only.
    }
    CHECK(woken >= 1);
  }
  CHECK(stopped);
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

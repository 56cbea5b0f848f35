// devices/virtio/io_thread.h: pause(), park() and resume() — a paused I/O
// thread handles nothing, keeps what arrived for after resume, and still
// stops when destroyed.
#include <sys/epoll.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "base/util/event_fd.h"
#include "devices/virtio/io_thread.h"
#include "tests/unit/virtio/bounded_task.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {

constexpr uint64_t kWork = 3;

// A body as a device writes it: handles `work`, parks on kPause.
struct CountingBody {
  EventFd work;
  std::atomic<int> handled{0};
  std::atomic<int> parks{0};
  std::atomic<bool> stopped{false};
  std::atomic<bool> ran{false};

  void start(IoThread& thread) {
    thread.watch(work.get(), EPOLLIN, kWork);
    thread.start([this](IoThread& self) { run(self); });
  }
  void run(IoThread& self) {
    ran = true;
    for (;;) {
      IoThread::Wake wake = self.wait();
      if (wake == IoThread::Wake::kPause) {
        ++parks;
        wake = self.park();
      }
      if (wake == IoThread::Wake::kStop) {
        stopped = true;
        return;
      }
      if (wake == IoThread::Wake::kFailed) return;
      for (const IoThread::Ready& ready : self.ready()) {
        if (ready.source == kWork) {
          IoThread::drain(work.get());
          ++handled;
        }
      }
    }
  }
};

// Gives a thread that should do nothing the chance to do something wrong;
// never a measurement.
void let_it_run() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

}  // namespace

TEST_CASE("a paused I/O thread handles nothing until resume, then what arrived meanwhile",
          "[threads]") {
  CountingBody body;
  IoThread thread("virtio-pause0");
  body.start(thread);
  body.work.signal();
  REQUIRE(eventually([&] { return body.handled == 1; }));

  {
    BoundedTask pausing([&] { thread.pause(); });
    REQUIRE(pausing.wait());
  }
  CHECK(body.parks == 1);  // pause() returned: the thread acknowledged it.
  body.work.signal();
  let_it_run();
  CHECK(body.handled == 1);

  thread.resume();
  REQUIRE(eventually([&] { return body.handled == 2; }));
  CHECK(body.parks == 1);
}

TEST_CASE("an I/O thread paused before start parks before its body runs", "[threads]") {
  CountingBody body;
  IoThread thread("virtio-pause1");
  thread.pause();  // Only recorded: nothing runs yet.
  body.work.signal();
  body.start(thread);
  let_it_run();
  CHECK_FALSE(body.ran);
  thread.resume();
  REQUIRE(eventually([&] { return body.handled == 1; }));
}

TEST_CASE("destroying a paused I/O thread stops it", "[threads]") {
  CountingBody body;
  auto thread = std::make_unique<IoThread>("virtio-pause2");
  body.start(*thread);
  thread->pause();
  CHECK(body.parks == 1);
  BoundedTask destroying([&] { thread.reset(); });
  REQUIRE(destroying.wait());
  CHECK(body.stopped);  // park() returned kStop: stop wins over the pause.
}

TEST_CASE("destroying an I/O thread paused before start never runs its body", "[threads]") {
  CountingBody body;
  auto thread = std::make_unique<IoThread>("virtio-pause3");
  thread->pause();
  body.start(*thread);
  BoundedTask destroying([&] { thread.reset(); });
  REQUIRE(destroying.wait());
  CHECK_FALSE(body.ran);
}

TEST_CASE("pausing an I/O thread whose body has ended returns", "[threads]") {
  IoThread thread("virtio-pause4");
  std::atomic<bool> ended{false};
  thread.start([&](IoThread&) { ended = true; });
  REQUIRE(eventually([&] { return ended.load(); }));
  BoundedTask pausing([&] { thread.pause(); });
  REQUIRE(pausing.wait());
  thread.resume();
}

TEST_CASE("pause and resume in quick succession neither hang nor lose work", "[threads]") {
  CountingBody body;
  IoThread thread("virtio-pause5");
  body.start(thread);
  {
    BoundedTask cycling([&] {
      for (int i = 0; i < 200; ++i) {
        thread.pause();
        if (i % 2 == 0) body.work.signal();
        thread.resume();
      }
    });
    REQUIRE(cycling.wait());
  }
  // Withdrawn pause signals are ignored, and the work signalled while
  // parked is handled after the last resume (counts merge in the eventfd).
  const int before = body.handled;
  body.work.signal();
  REQUIRE(eventually([&] { return body.handled > before; }));
  CHECK(body.parks >= 1);
  CHECK(body.parks <= 200);
}

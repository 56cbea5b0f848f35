// devices/virtio/io_thread.h: an exception escaping an I/O thread's body
// stops that device (DEVICE_NEEDS_RESET through on_fault), not kvmm.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "devices/virtio/io_thread.h"

using namespace kvmm;

namespace {

// Failure bound only: the fault normally arrives at once.
bool wait_for(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

TEST_CASE("an exception on an I/O thread runs on_fault and leaves the process running",
          "[threads]") {
  std::atomic<bool> faulted{false};
  {
    IoThread thread("virtio-throw0");
    thread.start([](IoThread&) { throw std::runtime_error("injected by the test"); },
                 [&] { faulted.store(true); });
    REQUIRE(wait_for(faulted));
  }  // The destructor joins a thread that already ended.
  CHECK(faulted.load());
}

TEST_CASE("an exception of any type on an I/O thread is caught", "[threads]") {
  std::atomic<bool> faulted{false};
  IoThread thread("virtio-throw1");
  thread.start([](IoThread&) { throw 42; }, [&] { faulted.store(true); });
  REQUIRE(wait_for(faulted));
}

TEST_CASE("an I/O thread that throws without on_fault only ends", "[threads]") {
  std::atomic<bool> ran{false};
  IoThread thread("virtio-throw2");
  thread.start([&](IoThread&) {
    ran.store(true);
    throw std::runtime_error("no fault handler");
  });
  REQUIRE(wait_for(ran));
}

TEST_CASE("a body that returns normally does not run on_fault", "[threads]") {
  std::atomic<bool> faulted{false};
  std::atomic<bool> stopped{false};
  {
    IoThread thread("virtio-throw3");
    thread.start(
        [&](IoThread& self) {
          while (self.wait() != IoThread::Wake::kStop) {
          }
          stopped.store(true);
        },
        [&] { faulted.store(true); });
  }
  CHECK(stopped.load());
  CHECK_FALSE(faulted.load());
}

// VirtioBlock::pause() and resume() on its real I/O thread: while paused the
// device takes nothing from its queue and writes neither the disk nor guest
// memory; pause waits for the host I/O in flight; and pausing in a loop
// while a driver keeps submitting loses and repeats no request.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/util/thread_role.h"
#include "devices/virtio/block/virtio_block.h"
#include "tests/unit/virtio/block_device_rig.h"
#include "tests/unit/virtio/block_test_support.h"
#include "tests/unit/virtio/bounded_task.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {

// Gives a thread that should do nothing the chance to do something wrong;
// never a measurement.
void let_it_run() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

// Holds the thread engine's workers (blk-worker) at their start, through the
// thread start hook, until open(): requests handed to the engine stay in
// flight for as long as the test wants. Create it before the device.
class WorkerGate {
 public:
  WorkerGate() {
    {
      std::lock_guard lock(mutex_);
      open_ = false;
    }
    set_thread_start_hook(&hold);
  }
  ~WorkerGate() {
    open();
    set_thread_start_hook(nullptr);
  }
  WorkerGate(const WorkerGate&) = delete;
  WorkerGate& operator=(const WorkerGate&) = delete;

  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }

 private:
  static void hold(ThreadRole role) {
    if (role != ThreadRole::kBlockWorker) return;
    std::unique_lock lock(mutex_);
    opened_.wait_for(lock, 2 * kHangBound, [] { return open_; });  // Bounded against a hang.
  }
  static inline std::mutex mutex_;
  static inline std::condition_variable opened_;
  static inline bool open_ = false;
};

struct Request {
  uint16_t head;
  GuestAddress status;
};

// A 512-byte-per-sector write of `sectors` sectors of `fill` at `sector`.
Request add_write(FakeDriver& driver, uint64_t sector, uint32_t sectors, uint8_t fill) {
  const uint32_t length = sectors * 512;
  const GuestAddress h = driver.allocate(16), d = driver.allocate(length, 512), s = driver.allocate(1);
  driver.write(h, header(kVirtioBlkTOut, sector));
  driver.fill(d, length, fill);
  driver.fill(s, 1, 0xee);
  const uint16_t head = driver.add_chain(
      {{h, 16, Access::kReadable}, {d, length, Access::kReadable}, {s, 1, Access::kWritable}});
  return {head, s};
}

Bytes sectors_of(const TempImage& file, uint64_t first, uint64_t count) {
  const Bytes contents = file.contents();
  return Bytes(contents.begin() + static_cast<std::ptrdiff_t>(first * 512),
               contents.begin() + static_cast<std::ptrdiff_t>((first + count) * 512));
}

}  // namespace

TEST_CASE("virtio-blk takes no request while paused and serves it once after resume", "[threads]") {
  const BlockIoEngine engine = KVMM_BLOCK_ENGINES();
  TempImage file(Bytes(64 * 512, 0));
  VirtioBlock device(options_for(file), 0, engine);
  BlockDeviceRig rig;
  rig.activate(device);

  device.pause();
  const Request request = add_write(rig.driver, 8, 2, 0x5a);
  rig.driver.publish();
  rig.notify.signal();
  let_it_run();
  CHECK(file.contents() == Bytes(64 * 512, 0));
  CHECK(rig.driver.used_idx() == 0);
  CHECK(rig.driver.read(request.status, 1)[0] == 0xee);

  device.resume();
  REQUIRE(eventually([&] { return rig.driver.used_idx() >= 1; }));
  let_it_run();
  CHECK(rig.driver.used_idx() == 1);  // Once, not again.
  const std::optional<UsedElement> used = rig.driver.next_used();
  REQUIRE(used);
  CHECK(used->id == request.head);
  CHECK(used->len == 1);
  CHECK(rig.driver.read(request.status, 1)[0] == kVirtioBlkSOk);
  CHECK(sectors_of(file, 8, 2) == Bytes(1024, 0x5a));
  device.reset();
}

TEST_CASE("virtio-blk pause waits for the host I/O in flight and returns it used first",
          "[threads]") {
  WorkerGate gate;  // Before the device: its workers start held.
  TempImage file(Bytes(64 * 512, 0));
  VirtioBlock device(options_for(file), 0, BlockIoEngine::kThread);
  BlockDeviceRig rig;
  rig.activate(device, QueueEventIdx::kOn);  // avail_event shows what the device took.

  std::vector<Request> requests;
  for (uint8_t i = 0; i < 3; ++i) requests.push_back(add_write(rig.driver, 8u * i, 8, i + 1));
  rig.driver.publish();
  rig.notify.signal();
  // The device took all three and handed them to the held engine.
  REQUIRE(eventually([&] { return rig.driver.avail_event() == 3; }));
  CHECK(rig.driver.used_idx() == 0);

  {
    BoundedTask pausing([&] { device.pause(); });
    let_it_run();
    CHECK_FALSE(pausing.finished());  // It waits for the three writes...
    CHECK(rig.driver.used_idx() == 0);
    gate.open();
    REQUIRE(pausing.wait());
  }
  // ...and they were all returned used before pause() returned.
  CHECK(rig.driver.used_idx() == 3);
  for (uint8_t i = 0; i < 3; ++i) {
    CHECK(rig.driver.read(requests[i].status, 1)[0] == kVirtioBlkSOk);
    CHECK(sectors_of(file, 8u * i, 8) == Bytes(8 * 512, static_cast<uint8_t>(i + 1)));
  }

  // Still paused: a new request waits in the ring.
  add_write(rig.driver, 40, 1, 0x77);
  rig.driver.publish();
  rig.notify.signal();
  let_it_run();
  CHECK(rig.driver.used_idx() == 3);
  CHECK(sectors_of(file, 40, 1) == Bytes(512, 0));
  device.resume();
  REQUIRE(eventually([&] { return rig.driver.used_idx() == 4; }));
  CHECK(sectors_of(file, 40, 1) == Bytes(512, 0x77));
  device.reset();
}

TEST_CASE("virtio-blk paused and resumed 50 times under load completes each request once",
          "[threads]") {
  const BlockIoEngine engine = KVMM_BLOCK_ENGINES();
  constexpr int kRequests = 200;
  TempImage file(Bytes(kRequests * 512, 0));
  VirtioBlock device(options_for(file), 0, engine);
  BlockDeviceRig rig;
  rig.activate(device);

  // The driver: its own thread, the only one using the FakeDriver.
  std::vector<int> completions(kRequests, 0);
  std::atomic<int> completed{0};
  std::atomic<bool> bad_status{false};
  BoundedTask driving([&] {
    FakeDriver& driver = rig.driver;
    std::map<uint16_t, Request> in_flight;
    std::map<uint16_t, int> id_of;
    int next = 0;
    const auto deadline = std::chrono::steady_clock::now() + kHangBound;
    while (completed < kRequests && std::chrono::steady_clock::now() < deadline) {
      bool added = false;
      while (next < kRequests && driver.free_descriptors() >= 3) {
        const Request request = add_write(driver, static_cast<uint64_t>(next), 1,
                                          static_cast<uint8_t>(next * 7 + 1));
        in_flight[request.head] = request;
        id_of[request.head] = next++;
        added = true;
      }
      if (added) {
        driver.publish();
        rig.notify.signal();
      }
      bool reaped = false;
      while (const std::optional<UsedElement> used = driver.next_used()) {
        const uint16_t head = static_cast<uint16_t>(used->id);
        if (!id_of.contains(head)) {
          bad_status = true;  // A head used that the driver had not offered.
          continue;
        }
        if (driver.read(in_flight.at(head).status, 1)[0] != kVirtioBlkSOk) bad_status = true;
        ++completions[id_of.at(head)];
        id_of.erase(head);
        in_flight.erase(head);
        ++completed;
        reaped = true;
      }
      if (!added && !reaped) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });

  for (int i = 0; i < 50 && completed < kRequests; ++i) {
    device.pause();
    // Paused: the used ring does not move.
    const uint16_t before = rig.driver.used_idx();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    CHECK(rig.driver.used_idx() == before);
    device.resume();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(driving.wait());
  CHECK(completed == kRequests);
  CHECK_FALSE(bad_status);
  for (int id = 0; id < kRequests; ++id) {
    INFO("request " << id);
    CHECK(completions[id] == 1);
    CHECK(sectors_of(file, static_cast<uint64_t>(id), 1) ==
          Bytes(512, static_cast<uint8_t>(id * 7 + 1)));
  }
  CHECK_FALSE(rig.interrupt->needs_reset());
  device.reset();
}

TEST_CASE("virtio-blk reset and destruction while paused return, and activation while paused starts parked",
          "[threads]") {
  const BlockIoEngine engine = KVMM_BLOCK_ENGINES();
  TempImage file(Bytes(64 * 512, 0));
  auto device = std::make_unique<VirtioBlock>(options_for(file), 0, engine);
  {
    BlockDeviceRig rig;
    rig.activate(*device);
    device->pause();
    add_write(rig.driver, 0, 1, 0x11);
    rig.driver.publish();
    rig.notify.signal();
    BoundedTask resetting([&] { device->reset(); });
    REQUIRE(resetting.wait());
    CHECK(rig.driver.used_idx() == 0);
    CHECK(sectors_of(file, 0, 1) == Bytes(512, 0));
  }
  // Still paused: a fresh activation starts parked.
  BlockDeviceRig rig;
  rig.activate(*device);
  add_write(rig.driver, 1, 1, 0x22);
  rig.driver.publish();
  rig.notify.signal();
  let_it_run();
  CHECK(rig.driver.used_idx() == 0);
  device->resume();
  REQUIRE(eventually([&] { return rig.driver.used_idx() == 1; }));
  CHECK(sectors_of(file, 1, 1) == Bytes(512, 0x22));

  device->pause();
  BoundedTask destroying([&] { device.reset(); });
  REQUIRE(destroying.wait());
}

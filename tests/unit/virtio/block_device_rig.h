#pragma once
// VirtioBlock end to end without KVM: a fake driver's queue in a GuestMemory,
// the device's own I/O thread, and an interrupt a test can wait on.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "base/util/event_fd.h"
#include "devices/virtio/block/virtio_block.h"
#include "devices/virtio/virtqueue.h"
#include "tests/support/virtio_driver.h"
#include "tests/unit/virtio/block_test_support.h"

namespace kvmm::testing {

class WaitingInterrupt : public VirtioInterrupt {
 public:
  void signal_used() override {
    std::lock_guard lock(mutex_);
    ++used_;
    changed_.notify_all();
  }
  void signal_config_change() override {}
  void signal_needs_reset() override {
    std::lock_guard lock(mutex_);
    needs_reset_ = true;
    changed_.notify_all();
  }
  // Waits (bounded, only against a hang) until `done` holds.
  template <typename Predicate>
  bool wait(Predicate done) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return done(); });
  }
  bool wait_for_needs_reset() {
    return wait([this] { return needs_reset_; });
  }
  bool needs_reset() {
    std::lock_guard lock(mutex_);
    return needs_reset_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  unsigned used_ = 0;
  bool needs_reset_ = false;
};

enum class QueueEventIdx { kOff, kOn };

// The device, activated on a fake driver's queue of 16 in 1 MiB of RAM.
struct BlockDeviceRig {
  GuestMemory memory;
  FakeDriver driver;
  Virtqueue queue{VirtioBlock::kQueueSize};
  EventFd notify;
  std::shared_ptr<WaitingInterrupt> interrupt = std::make_shared<WaitingInterrupt>();

  BlockDeviceRig() : memory(make_memory()), driver(memory, 16, GuestAddress{0x1000}, 0x80000) {
    driver.configure(queue);
    REQUIRE_FALSE(queue.validate(memory).has_value());
  }
  static GuestMemory make_memory() {
    GuestMemory m;
    m.add_region(GuestAddress{0}, 1 << 20);
    return m;
  }
  // With EVENT_IDX the device publishes avail_event each time it empties
  // the ring: a test sees how far it has taken requests.
  void activate(VirtioBlock& device, QueueEventIdx event_idx = QueueEventIdx::kOff) {
    queue.activate(memory, true, event_idx == QueueEventIdx::kOn);
    VirtioActivation activation;
    activation.memory = &memory;
    activation.features = device.device_features();
    activation.queues.push_back(VirtioQueueHandle{&queue, notify.get()});
    activation.interrupt = interrupt;
    device.activate(std::move(activation));
  }
  // Publishes what was added, kicks the device and waits for `count` used entries.
  std::vector<UsedElement> kick(size_t count) {
    driver.publish();
    notify.signal();
    std::vector<UsedElement> used;
    interrupt->wait([&] {
      while (auto element = driver.next_used()) used.push_back(*element);
      return used.size() >= count;
    });
    return used;
  }
};

inline DiskOptions options_for(const TempImage& file, DiskAccess access = DiskAccess::kReadWrite) {
  return DiskOptions{file.path, access, "", DiskCache::kWriteback};
}

}  // namespace kvmm::testing

#include "devices/virtio/virtio_mmio.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "tests/support/test_files.h"
#include "tests/unit/virtio/bounded_task.h"

namespace {

using namespace kvmm;
using namespace kvmm::virtio_mmio;
using namespace kvmm::virtio_status;

// A device type that records what the transport tells it.
class FakeDevice : public VirtioDevice {
 public:
  struct Log {
    int activations = 0;
    int resets = 0;
    int pauses = 0;
    int resumes = 0;
    std::function<void()> while_pausing;  // Runs inside pause().
    uint64_t features = 0;
    size_t queues = 0;
    uint64_t desc_table = 0;
    std::shared_ptr<VirtioInterrupt> interrupt;
  };
  explicit FakeDevice(Log& log) : log_(log) {}

  uint32_t device_id() const override { return 2; }
  uint64_t device_features() const override {
    return kVirtioFVersion1 | kVirtioFRingEventIdx | (1ull << 9);
  }
  std::vector<uint16_t> queue_max_sizes() const override { return {16, 8}; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override {
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(0xc0 + offset + i);
  }
  void activate(VirtioActivation activation) override {
    ++log_.activations;
    log_.features = activation.features;
    log_.queues = activation.queues.size();
    log_.desc_table = activation.queues[0].queue->config().desc_table;
    log_.interrupt = activation.interrupt;
  }
  void reset() override { ++log_.resets; }
  void pause() override {
    ++log_.pauses;
    if (log_.while_pausing) log_.while_pausing();
  }
  void resume() override { ++log_.resumes; }

 private:
  Log& log_;
};

struct Fixture {
  GuestMemory memory = testing::first_mib();
  FakeDevice::Log log;
  int interrupts = 0;
  VirtioMmio transport{std::make_unique<FakeDevice>(log), memory, [this] { ++interrupts; },
                       "virtio-test0"};

  uint32_t read(uint64_t offset) {
    uint8_t data[4] = {};
    transport.read(offset, data);
    uint32_t value;
    std::memcpy(&value, data, 4);
    return value;
  }
  void write(uint64_t offset, uint32_t value) {
    uint8_t data[4];
    std::memcpy(data, &value, 4);
    transport.write(offset, data);
  }
  // The driver's side of §3.1.1 up to FEATURES_OK.
  void negotiate(uint64_t features) {
    write(kStatus, kAcknowledge);
    write(kStatus, kAcknowledge | kDriver);
    write(kDriverFeaturesSel, 0);
    write(kDriverFeatures, static_cast<uint32_t>(features));
    write(kDriverFeaturesSel, 1);
    write(kDriverFeatures, static_cast<uint32_t>(features >> 32));
    write(kStatus, kAcknowledge | kDriver | kFeaturesOk);
  }
  void set_up_queue(uint32_t index, uint32_t size, uint64_t desc, uint64_t avail, uint64_t used) {
    write(kQueueSel, index);
    write(kQueueNum, size);
    write(kQueueDescLow, static_cast<uint32_t>(desc));
    write(kQueueDescHigh, static_cast<uint32_t>(desc >> 32));
    write(kQueueDriverLow, static_cast<uint32_t>(avail));
    write(kQueueDriverHigh, static_cast<uint32_t>(avail >> 32));
    write(kQueueDeviceLow, static_cast<uint32_t>(used));
    write(kQueueDeviceHigh, static_cast<uint32_t>(used >> 32));
    write(kQueueReady, 1);
  }
};

constexpr uint32_t kRunning = kAcknowledge | kDriver | kFeaturesOk | kDriverOk;

}  // namespace

TEST_CASE("virtio-mmio identifies itself as a modern transport with the device's ID") {
  Fixture f;
  CHECK(f.read(kMagicValue) == 0x74726976);
  CHECK(f.read(kVersion) == 2);
  CHECK(f.read(kDeviceId) == 2);
  f.write(kDeviceFeaturesSel, 0);
  CHECK(f.read(kDeviceFeatures) == static_cast<uint32_t>(kVirtioFRingEventIdx | (1u << 9)));
  f.write(kDeviceFeaturesSel, 1);
  CHECK(f.read(kDeviceFeatures) == (kVirtioFVersion1 >> 32));
  f.write(kDeviceFeaturesSel, 7);
  CHECK(f.read(kDeviceFeatures) == 0);
  f.write(kQueueSel, 1);
  CHECK(f.read(kQueueNumMax) == 8);
  f.write(kQueueSel, 2);
  CHECK(f.read(kQueueNumMax) == 0);  // §4.2.2: no such queue.
}

TEST_CASE("virtio-mmio refuses FEATURES_OK for a legacy driver or unoffered features") {
  Fixture f;
  f.negotiate(1ull << 9);  // No VERSION_1.
  CHECK((f.read(kStatus) & kFeaturesOk) == 0);
  f.write(kStatus, 0);
  f.negotiate(kVirtioFVersion1 | (1ull << 3));  // Bit 3 was not offered.
  CHECK((f.read(kStatus) & kFeaturesOk) == 0);
  f.write(kStatus, 0);
  f.negotiate(kVirtioFVersion1 | (1ull << 9));
  CHECK((f.read(kStatus) & kFeaturesOk) != 0);
}

TEST_CASE("virtio-mmio activates the device at DRIVER_OK with the queues the driver set up") {
  Fixture f;
  f.negotiate(kVirtioFVersion1 | kVirtioFRingEventIdx);
  f.set_up_queue(0, 16, 0x10000, 0x11000, 0x12000);
  f.write(kStatus, kRunning);
  CHECK(f.log.activations == 1);
  CHECK(f.log.features == (kVirtioFVersion1 | kVirtioFRingEventIdx));
  CHECK(f.log.queues == 2);
  CHECK(f.log.desc_table == 0x10000);
  CHECK(f.read(kStatus) == kRunning);
  // Queue registers are frozen while the device runs (§4.2.2.3).
  f.write(kQueueSel, 0);
  f.write(kQueueDescLow, 0x20000);
  f.write(kStatus, 0);
  CHECK(f.log.resets == 1);
  CHECK(f.read(kStatus) == 0);
  CHECK(f.read(kQueueReady) == 0);
}

TEST_CASE("virtio-mmio sets DEVICE_NEEDS_RESET when a queue is unusable at DRIVER_OK") {
  Fixture f;
  f.negotiate(kVirtioFVersion1);
  f.set_up_queue(0, 12, 0x10000, 0x11000, 0x12000);  // Not a power of two.
  f.write(kStatus, kRunning);
  CHECK(f.log.activations == 0);
  CHECK((f.read(kStatus) & kDeviceNeedsReset) != 0);
  CHECK((f.read(kInterruptStatus) & kInterruptConfigChange) != 0);
  CHECK(f.interrupts == 1);

  f.write(kStatus, 0);
  CHECK(f.read(kStatus) == 0);
  f.negotiate(kVirtioFVersion1);
  f.set_up_queue(0, 16, 0xfff80, 0x11000, 0x12000);  // Descriptor table runs past memory.
  f.write(kStatus, kRunning);
  CHECK(f.log.activations == 0);
  CHECK((f.read(kStatus) & kDeviceNeedsReset) != 0);
}

TEST_CASE("virtio-mmio interrupt status is set by the device and cleared by the driver's ack") {
  Fixture f;
  f.negotiate(kVirtioFVersion1);
  f.set_up_queue(0, 16, 0x10000, 0x11000, 0x12000);
  f.write(kStatus, kRunning);
  REQUIRE(f.log.interrupt);
  f.log.interrupt->signal_used();
  CHECK(f.interrupts == 1);
  CHECK(f.read(kInterruptStatus) == kInterruptUsedBuffer);
  f.log.interrupt->signal_config_change();
  CHECK(f.read(kInterruptStatus) == (kInterruptUsedBuffer | kInterruptConfigChange));
  f.write(kInterruptAck, kInterruptUsedBuffer);
  CHECK(f.read(kInterruptStatus) == kInterruptConfigChange);
  f.log.interrupt->signal_needs_reset();
  CHECK((f.read(kStatus) & kDeviceNeedsReset) != 0);
}

TEST_CASE("virtio-mmio forwards a QueueNotify write to the queue's eventfd") {
  Fixture f;
  f.write(kQueueNotify, 1);
  uint64_t count = 0;
  CHECK(::read(f.transport.notify_fd(1), &count, sizeof count) == sizeof count);
  CHECK(count == 1);
  CHECK(::read(f.transport.notify_fd(0), &count, sizeof count) < 0);  // Nothing for queue 0.
  f.write(kQueueNotify, 0xffff);  // No such queue: ignored.
}

TEST_CASE("virtio-mmio ignores register accesses that are not 32 bits wide") {
  Fixture f;
  uint8_t byte[1] = {0xff};
  f.transport.write(kStatus, byte);
  CHECK(f.read(kStatus) == 0);
  uint8_t half[2] = {};
  f.transport.read(kMagicValue, half);
  CHECK(half[0] == 0);
  CHECK(half[1] == 0);
}

TEST_CASE("virtio-mmio passes config space accesses to the device at any width") {
  Fixture f;
  uint8_t data[2] = {};
  f.transport.read(kConfig + 4, data);
  CHECK(data[0] == 0xc4);
  CHECK(data[1] == 0xc5);
}

TEST_CASE("virtio-mmio ignores status writes that clear bits without a reset") {
  Fixture f;
  f.negotiate(kVirtioFVersion1);
  f.write(kStatus, kAcknowledge);
  CHECK(f.read(kStatus) == (kAcknowledge | kDriver | kFeaturesOk));
}

TEST_CASE("virtio-mmio forwards pause and resume to its device, activated or not") {
  Fixture f;
  // Before DRIVER_OK too: the device remembers it and would start parked.
  f.transport.pause();
  CHECK(f.log.pauses == 1);
  f.negotiate(kVirtioFVersion1);
  f.set_up_queue(0, 16, 0x10000, 0x11000, 0x12000);
  f.write(kStatus, kRunning);
  CHECK(f.log.activations == 1);
  f.transport.resume();
  CHECK(f.log.resumes == 1);
  f.transport.pause();
  f.transport.resume();
  CHECK(f.log.pauses == 2);
  CHECK(f.log.resumes == 2);
  CHECK(f.log.resets == 0);  // A pause is not a reset: the driver sees nothing.
  CHECK(f.read(kStatus) == kRunning);
}

TEST_CASE("virtio-mmio serialises a driver reset with a pause in progress", "[threads]") {
  Fixture f;
  f.negotiate(kVirtioFVersion1);
  f.set_up_queue(0, 16, 0x10000, 0x11000, 0x12000);
  f.write(kStatus, kRunning);

  // The device's pause blocks until the test lets it finish, as a disk's
  // does while host I/O is in flight.
  std::mutex mutex;
  std::condition_variable changed;
  bool pausing = false;
  bool release = false;
  f.log.while_pausing = [&] {
    std::unique_lock lock(mutex);
    pausing = true;
    changed.notify_all();
    changed.wait_for(lock, kvmm::testing::kHangBound, [&] { return release; });
  };
  kvmm::testing::BoundedTask pause([&] { f.transport.pause(); });
  {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, kvmm::testing::kHangBound, [&] { return pausing; }));
  }
  // A vCPU resets the device meanwhile: it waits for the pause to finish.
  std::atomic<bool> reset_done{false};
  kvmm::testing::BoundedTask reset([&] {
    f.write(kStatus, 0);
    reset_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // A chance to go wrong; not measured.
  CHECK_FALSE(reset_done);
  CHECK(f.log.resets == 0);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  changed.notify_all();
  REQUIRE(pause.wait());
  REQUIRE(reset.wait());
  CHECK(f.log.resets == 1);
}

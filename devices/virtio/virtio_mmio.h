#pragma once
// The virtio-mmio transport (virtio 1.2 §4.2, modern interface only): the
// register file the driver programs, feature negotiation, the device status
// state machine (§2.1, §3.1), queue setup, the config space window and device
// reset. What the device does with its queues is a VirtioDevice's business.
//
// Notifications: a QueueNotify write signals that queue's eventfd. The
// machine binds the same eventfds to KVM ioeventfds (notify_address(),
// datamatch = queue index), so in practice the write never reaches this
// class; the fallback keeps it correct without them.
// Interrupts: InterruptStatus bits are set from any thread, then `trigger`
// (an irqfd signal) raises an edge on the device's GSI.
//
// Threads: register accesses arrive on vCPU threads and are serialised by
// mutex_; interrupt_status_ and needs_reset_ are atomics because the device's
// I/O thread sets them. pause(), resume() and shutdown() come from the main
// thread and take the same mutex, so a reset or DRIVER_OK from a vCPU waits
// for a pause in progress (and the reverse).
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/bus/bus_device.h"
#include "base/memory/guest_memory.h"
#include "base/util/event_fd.h"
#include "base/util/rate_limited_log.h"
#include "devices/virtio/virtio_device.h"
#include "devices/virtio/virtqueue.h"

namespace kvmm {

// Register offsets, §4.2.2.
namespace virtio_mmio {
inline constexpr uint64_t kMagicValue = 0x000;
inline constexpr uint64_t kVersion = 0x004;
inline constexpr uint64_t kDeviceId = 0x008;
inline constexpr uint64_t kVendorId = 0x00c;
inline constexpr uint64_t kDeviceFeatures = 0x010;
inline constexpr uint64_t kDeviceFeaturesSel = 0x014;
inline constexpr uint64_t kDriverFeatures = 0x020;
inline constexpr uint64_t kDriverFeaturesSel = 0x024;
inline constexpr uint64_t kQueueSel = 0x030;
inline constexpr uint64_t kQueueNumMax = 0x034;
inline constexpr uint64_t kQueueNum = 0x038;
inline constexpr uint64_t kQueueReady = 0x044;
inline constexpr uint64_t kQueueNotify = 0x050;
inline constexpr uint64_t kInterruptStatus = 0x060;
inline constexpr uint64_t kInterruptAck = 0x064;
inline constexpr uint64_t kStatus = 0x070;
inline constexpr uint64_t kQueueDescLow = 0x080;
inline constexpr uint64_t kQueueDescHigh = 0x084;
inline constexpr uint64_t kQueueDriverLow = 0x090;
inline constexpr uint64_t kQueueDriverHigh = 0x094;
inline constexpr uint64_t kQueueDeviceLow = 0x0a0;
inline constexpr uint64_t kQueueDeviceHigh = 0x0a4;
inline constexpr uint64_t kShmSel = 0x0ac;
inline constexpr uint64_t kShmLenLow = 0x0b0;
inline constexpr uint64_t kShmLenHigh = 0x0b4;
inline constexpr uint64_t kShmBaseLow = 0x0b8;
inline constexpr uint64_t kShmBaseHigh = 0x0bc;
inline constexpr uint64_t kConfigGeneration = 0x0fc;
inline constexpr uint64_t kConfig = 0x100;

inline constexpr uint32_t kMagic = 0x74726976;  // "virt"
inline constexpr uint32_t kVersion2 = 2;        // Modern (non-legacy) interface.
inline constexpr uint32_t kVendor = 0x4d4d564b;  // "KVMM"

inline constexpr uint32_t kInterruptUsedBuffer = 1u << 0;
inline constexpr uint32_t kInterruptConfigChange = 1u << 1;
}  // namespace virtio_mmio

// Device status bits, §2.1.
namespace virtio_status {
inline constexpr uint32_t kAcknowledge = 1;
inline constexpr uint32_t kDriver = 2;
inline constexpr uint32_t kDriverOk = 4;
inline constexpr uint32_t kFeaturesOk = 8;
inline constexpr uint32_t kDeviceNeedsReset = 64;
inline constexpr uint32_t kFailed = 128;
}  // namespace virtio_status

class VirtioMmio : public BusDevice {
 public:
  // `name` labels log lines ("virtio-blk0"). `trigger` raises the interrupt
  // line (an irqfd signal); callable from any thread.
  VirtioMmio(std::unique_ptr<VirtioDevice> device, const GuestMemory& memory,
             std::function<void()> trigger, std::string name);
  ~VirtioMmio() override;

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  size_t queue_count() const { return queues_.size(); }
  // The eventfd a QueueNotify of queue `index` signals, for KVM_IOEVENTFD.
  int notify_fd(size_t index) const { return notify_[index]->get(); }

  // Stops the device's I/O (as a driver reset would); for machine shutdown.
  void shutdown();

  // For a VM pause (VirtioDevice::pause()): returns once the device has
  // finished its work in flight and writes neither guest memory nor its
  // backend. Forwarded whether or not the driver has activated the device:
  // the device remembers it, so a DRIVER_OK while paused starts it parked.
  void pause();
  void resume();

  const VirtioDevice& device() const { return *device_; }

 private:
  class Interrupt;

  uint32_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint32_t value);
  void write_status(uint32_t value);
  void driver_ok();
  void reset_locked();
  // The queue QueueSel names, or null when it names none (§4.2.2: reads as
  // QueueNumMax 0; writes are ignored).
  Virtqueue* selected_queue();
  void guest_error(const std::string& what);

  std::unique_ptr<VirtioDevice> device_;
  const GuestMemory& memory_;
  std::string name_;
  std::shared_ptr<Interrupt> interrupt_;

  std::mutex mutex_;  // Guards everything below except what the I/O thread sets.
  std::vector<std::unique_ptr<Virtqueue>> queues_;
  std::vector<std::unique_ptr<EventFd>> notify_;
  uint64_t device_features_;
  uint64_t driver_features_ = 0;
  uint32_t device_features_sel_ = 0;
  uint32_t driver_features_sel_ = 0;
  uint32_t queue_sel_ = 0;
  uint32_t status_ = 0;
  bool activated_ = false;
  RateLimitedLog guest_log_{name_ + ": "};
};

}  // namespace kvmm

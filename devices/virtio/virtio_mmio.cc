#include "devices/virtio/virtio_mmio.h"

#include <cstring>
#include <exception>


namespace kvmm {

using namespace virtio_mmio;
using namespace virtio_status;

class VirtioMmio::Interrupt : public VirtioInterrupt {
 public:
  explicit Interrupt(std::function<void()> trigger) : trigger_(std::move(trigger)) {}

  void signal_used() override { raise(kInterruptUsedBuffer); }
  void signal_config_change() override { raise(kInterruptConfigChange); }
  void signal_needs_reset() override {
    needs_reset_.store(true);
    raise(kInterruptConfigChange);  // §2.1.2: a configuration change notification.
  }

  uint32_t status() const { return status_.load(); }
  void acknowledge(uint32_t bits) { status_.fetch_and(~bits); }
  bool needs_reset() const { return needs_reset_.load(); }
  void clear() {
    status_.store(0);
    needs_reset_.store(false);
  }

 private:
  void raise(uint32_t bit) {
    status_.fetch_or(bit);
    trigger_();
  }

  std::function<void()> trigger_;
  std::atomic<uint32_t> status_{0};
  std::atomic<bool> needs_reset_{false};
};

VirtioMmio::VirtioMmio(std::unique_ptr<VirtioDevice> device, const GuestMemory& memory,
                       std::function<void()> trigger, std::string name)
    : device_(std::move(device)),
      memory_(memory),
      name_(std::move(name)),
      interrupt_(std::make_shared<Interrupt>(std::move(trigger))),
      device_features_(device_->device_features() | kVirtioFVersion1) {
  for (uint16_t max_size : device_->queue_max_sizes()) {
    queues_.push_back(std::make_unique<Virtqueue>(max_size));
    notify_.push_back(std::make_unique<EventFd>());
  }
}

VirtioMmio::~VirtioMmio() { shutdown(); }

void VirtioMmio::shutdown() {
  std::lock_guard lock(mutex_);
  reset_locked();
}

void VirtioMmio::pause() {
  std::lock_guard lock(mutex_);
  device_->pause();
}

void VirtioMmio::resume() {
  std::lock_guard lock(mutex_);
  device_->resume();
}

void VirtioMmio::guest_error(const std::string& what) {
  // A driver bug or a hostile guest: rate-limited, so it cannot flood the host's log.
  guest_log_.log(what);
}

void VirtioMmio::read(uint64_t offset, std::span<uint8_t> data) {
  if (offset >= kConfig) {
    std::lock_guard lock(mutex_);
    device_->read_config(offset - kConfig, data);
    return;
  }
  // §4.2.2: registers are 32 bits wide and accessed as such; anything else
  // reads as zero (the bus zero-filled `data`).
  if (data.size() != 4 || offset % 4 != 0) {
    guest_error("ignored a " + std::to_string(data.size()) + "-byte read of register " +
                std::to_string(offset));
    return;
  }
  std::lock_guard lock(mutex_);
  const uint32_t value = read_register(offset);
  std::memcpy(data.data(), &value, sizeof(value));
}

void VirtioMmio::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (offset >= kConfig) {
    // §4.2.2.2: the driver must not write the config space before FEATURES_OK.
    device_->write_config(offset - kConfig, data);
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) {
    guest_error("ignored a " + std::to_string(data.size()) + "-byte write to register " +
                std::to_string(offset));
    return;
  }
  uint32_t value;
  std::memcpy(&value, data.data(), sizeof(value));
  write_register(offset, value);  // Guest-controlled.
}

Virtqueue* VirtioMmio::selected_queue() {
  return queue_sel_ < queues_.size() ? queues_[queue_sel_].get() : nullptr;
}

uint32_t VirtioMmio::read_register(uint64_t offset) {
  switch (offset) {
    case kMagicValue:
      return kMagic;
    case kVersion:
      return kVersion2;
    case kDeviceId:
      return device_->device_id();
    case kVendorId:
      return kVendor;
    case kDeviceFeatures:
      if (device_features_sel_ > 1) return 0;
      return static_cast<uint32_t>(device_features_ >> (32 * device_features_sel_));
    case kQueueNumMax: {
      Virtqueue* queue = selected_queue();
      return queue ? queue->max_size() : 0;
    }
    case kQueueReady: {
      Virtqueue* queue = selected_queue();
      return queue && queue->config().ready ? 1 : 0;
    }
    case kInterruptStatus:
      return interrupt_->status();
    case kStatus:
      return status_ | (interrupt_->needs_reset() ? kDeviceNeedsReset : 0);
    case kShmLenLow:
    case kShmLenHigh:
      return 0xffffffff;  // §4.2.2: no shared memory region with this ID.
    case kConfigGeneration:
      return 0;  // The config space of kvmm's devices never changes under the driver.
    default:
      return 0;  // Write-only and reserved registers read as zero.
  }
}

void VirtioMmio::write_register(uint64_t offset, uint32_t value) {
  Virtqueue* queue = selected_queue();
  // §4.2.2.3: queue registers may change only while the queue is not ready
  // and the device not yet running.
  const bool queue_writable = queue && !queue->config().ready && !activated_;
  auto set_low = [](uint64_t& field, uint32_t v) { field = (field & ~0xffffffffull) | v; };
  auto set_high = [](uint64_t& field, uint32_t v) {
    field = (field & 0xffffffffull) | (static_cast<uint64_t>(v) << 32);
  };
  switch (offset) {
    case kDeviceFeaturesSel:
      device_features_sel_ = value;
      return;
    case kDriverFeatures:
      // §3.1.1: features are negotiated before FEATURES_OK; later writes are ignored.
      if ((status_ & kFeaturesOk) || driver_features_sel_ > 1) return;
      if (driver_features_sel_ == 0) {
        driver_features_ = (driver_features_ & ~0xffffffffull) | value;
      } else {
        driver_features_ = (driver_features_ & 0xffffffffull) | (static_cast<uint64_t>(value) << 32);
      }
      return;
    case kDriverFeaturesSel:
      driver_features_sel_ = value;
      return;
    case kQueueSel:
      queue_sel_ = value;
      return;
    case kQueueNum:
      if (queue_writable) queue->config().size = static_cast<uint16_t>(value > 0xffff ? 0 : value);
      return;
    case kQueueReady:
      if (!queue || activated_) return;
      queue->config().ready = (value == 1);
      return;
    case kQueueNotify:
      // Reached only when no ioeventfd is bound; forward to the same eventfd.
      if (value < notify_.size()) notify_[value]->signal();
      return;
    case kInterruptAck:
      interrupt_->acknowledge(value);
      return;
    case kStatus:
      write_status(value);
      return;
    case kQueueDescLow:
      if (queue_writable) set_low(queue->config().desc_table, value);
      return;
    case kQueueDescHigh:
      if (queue_writable) set_high(queue->config().desc_table, value);
      return;
    case kQueueDriverLow:
      if (queue_writable) set_low(queue->config().avail_ring, value);
      return;
    case kQueueDriverHigh:
      if (queue_writable) set_high(queue->config().avail_ring, value);
      return;
    case kQueueDeviceLow:
      if (queue_writable) set_low(queue->config().used_ring, value);
      return;
    case kQueueDeviceHigh:
      if (queue_writable) set_high(queue->config().used_ring, value);
      return;
    case kShmSel:
      return;
    default:
      guest_error("ignored a write to read-only or reserved register " + std::to_string(offset));
      return;
  }
}

void VirtioMmio::write_status(uint32_t value) {
  if (value == 0) {  // §4.2.3.1: writing zero resets the device.
    reset_locked();
    return;
  }
  // §2.1.1: the driver only ever sets bits (until a reset).
  if ((value & status_) != status_) {
    guest_error("driver cleared status bits without a reset; ignored");
    return;
  }
  const uint32_t added = value & ~status_;
  if (added & kFeaturesOk) {
    // §3.1.1 step 5-6: accept only a subset of what was offered, and only
    // the modern interface; otherwise FEATURES_OK does not stick and the
    // driver gives up.
    const bool subset = (driver_features_ & ~device_features_) == 0;
    const bool modern = (driver_features_ & kVirtioFVersion1) != 0;
    if (!subset || !modern) {
      guest_error(!modern ? "driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are not supported)"
                          : "driver accepted features the device did not offer");
      status_ = value & ~kFeaturesOk;
      return;
    }
  }
  if ((added & kDriverOk) && !(value & kFeaturesOk)) {
    guest_error("DRIVER_OK without FEATURES_OK; ignored");
    status_ = value & ~kDriverOk;
    return;
  }
  status_ = value;
  if ((added & kDriverOk) && !activated_) driver_ok();
}

void VirtioMmio::driver_ok() {
  for (size_t i = 0; i < queues_.size(); ++i) {
    const Virtqueue& queue = *queues_[i];
    if (!queue.config().ready) continue;
    if (auto problem = queue.validate(memory_)) {
      guest_error("queue " + std::to_string(i) + " is unusable: " + *problem);
      interrupt_->signal_needs_reset();
      return;
    }
  }
  VirtioActivation activation;
  activation.memory = &memory_;
  activation.features = driver_features_;
  activation.interrupt = interrupt_;
  const bool indirect = driver_features_ & kVirtioFRingIndirectDesc;
  const bool event_idx = driver_features_ & kVirtioFRingEventIdx;
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (queues_[i]->config().ready) queues_[i]->activate(memory_, indirect, event_idx);
    activation.queues.push_back({queues_[i].get(), notify_[i]->get()});
  }
  try {
    device_->activate(std::move(activation));
    activated_ = true;
  } catch (const std::exception& error) {
    // A host failure (no thread, no io_uring) must not take the vCPU down:
    // the driver sees DEVICE_NEEDS_RESET and the user the reason.
    guest_log_.log(std::string("cannot start the device: ") + error.what());
    interrupt_->signal_needs_reset();
  }
}

void VirtioMmio::reset_locked() {
  // The device's I/O thread must be gone before the queues change under it.
  if (activated_) device_->reset();
  activated_ = false;
  for (auto& queue : queues_) queue->reset();
  for (auto& notify : notify_) notify->consume();
  interrupt_->clear();
  driver_features_ = 0;
  device_features_sel_ = driver_features_sel_ = queue_sel_ = 0;
  status_ = 0;
}

}  // namespace kvmm

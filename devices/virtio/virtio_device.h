#pragma once
// What a virtio device type (block, net) implements; the transport
// (VirtioMmio) owns the registers, feature negotiation, the status state
// machine and the queues, and hands them over at DRIVER_OK.
//
// Threads: every method is called on a vCPU thread (the one whose MMIO access
// reached the transport), one at a time — the transport serialises them. A
// device does its queue work on its own I/O thread, started by activate() and
// stopped by reset(); between the two the transport never touches the queues.
// pause() and resume() come from the thread pausing the VM (the main
// thread), also through the transport and so also one at a time with the rest.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/memory/guest_memory.h"

namespace kvmm {

class Virtqueue;

// Device feature bits common to all types (virtio 1.2 §6).
inline constexpr uint64_t kVirtioFRingIndirectDesc = 1ull << 28;
inline constexpr uint64_t kVirtioFRingEventIdx = 1ull << 29;
inline constexpr uint64_t kVirtioFVersion1 = 1ull << 32;

// How a device tells the driver something happened; implemented by the
// transport (interrupt status register + irqfd). Callable from any thread.
class VirtioInterrupt {
 public:
  virtual ~VirtioInterrupt() = default;
  // Used-buffer notification (§2.3): the device returned buffers.
  virtual void signal_used() = 0;
  // Configuration change notification (§2.3), e.g. a net link status change.
  virtual void signal_config_change() = 0;
  // §2.1.2: the device hit an error it cannot recover from (a broken queue);
  // sets DEVICE_NEEDS_RESET and notifies. The device stops using its queues.
  virtual void signal_needs_reset() = 0;
};

struct VirtioQueueHandle {
  Virtqueue* queue;  // Owned by the transport; valid until reset() returns.
  int notify_fd;     // eventfd the guest's QueueNotify for this queue signals.
};

struct VirtioActivation {
  const GuestMemory* memory;
  uint64_t features;  // What the driver accepted (a subset of device_features()).
  std::vector<VirtioQueueHandle> queues;  // Every queue, in index order.
  std::shared_ptr<VirtioInterrupt> interrupt;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  virtual uint32_t device_id() const = 0;  // §5: 2 block, 1 net.
  // Everything this device offers, including VERSION_1 and ring features.
  virtual uint64_t device_features() const = 0;
  // Number of queues and the largest size each accepts (a power of two).
  virtual std::vector<uint16_t> queue_max_sizes() const = 0;

  // Device-specific configuration space (§4.2.2 offset 0x100+). Reads past
  // the end see zeros; `data` is zero-filled by the caller.
  virtual void read_config(uint64_t offset, std::span<uint8_t> data) const = 0;
  virtual void write_config(uint64_t /*offset*/, std::span<const uint8_t> /*data*/) {}

  // The driver set DRIVER_OK and every enabled queue passed validation.
  // Throws Error only on host failures (cannot start a thread).
  virtual void activate(VirtioActivation activation) = 0;
  // The driver wrote 0 to Status, or kvmm is shutting down: stop the I/O
  // thread, finish or abandon in-flight host I/O, forget the queues. After it
  // returns nothing may touch guest memory on the device's behalf.
  virtual void reset() = 0;

  // The VM is pausing: when pause() returns, nothing may write guest memory
  // or the device's backend (disk image, tap) on the device's behalf until
  // resume(). Work already handed to the host finishes first (a disk's reads
  // and writes in flight complete and are returned used); nothing new is
  // taken from the queues, and notifications or frames that arrive
  // meanwhile are handled after resume(). A device remembers the pause
  // across reset() and activate(): activated while paused, it starts parked.
  // reset() and destruction work while paused. The defaults suit a device
  // without an I/O thread.
  virtual void pause() {}
  virtual void resume() {}
};

}  // namespace kvmm

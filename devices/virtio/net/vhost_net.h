#pragma once
// The kernel's virtio-net data path (/dev/vhost-net): a kernel thread moves
// frames between the guest's rings and the tap, so a frame costs no trip
// through kvmm. kvmm still owns the transport (registers, feature
// negotiation, reset); at DRIVER_OK it hands vhost the guest's memory map,
// the rings, the queue-notify eventfds (which KVM signals directly) and one
// "call" eventfd per queue, on which vhost reports used buffers.
//
// virtio-mmio has no per-queue interrupt vector: the driver reads
// InterruptStatus to learn why it was interrupted. So vhost's call eventfds
// go to kvmm's I/O thread, which sets that register and then raises the
// interrupt (QEMU does the same for virtio-mmio devices).
#include <cstdint>
#include <span>
#include <string>

#include "base/memory/guest_memory.h"
#include "base/util/unique_fd.h"

namespace kvmm {

// Virtio feature bits that describe the rings and headers vhost itself
// handles; the device may offer one only if vhost does. The net offload bits
// (checksums, TSO) are the tap's business, not vhost's.
inline constexpr uint64_t kVhostTransportFeatures =
    (1ull << 15) /* MRG_RXBUF */ | (1ull << 28) /* INDIRECT_DESC */ |
    (1ull << 29) /* EVENT_IDX */ | (1ull << 32) /* VERSION_1 */;

// What the device offers with vhost: `offered` minus the transport features
// vhost lacks (`vhost_features`, from VHOST_GET_FEATURES).
uint64_t vhost_device_features(uint64_t offered, uint64_t vhost_features);

class VhostNet {
 public:
  struct Ring {
    uint16_t size;
    uint64_t desc_table;  // Guest-physical addresses, validated by the transport.
    uint64_t avail_ring;
    uint64_t used_ring;
    int kick_fd;  // Signalled by KVM when the guest writes QueueNotify.
    int call_fd;  // Signalled by vhost when it has used buffers.
  };

  // Opens /dev/vhost-net and makes this process its owner. Throws Error with
  // the fix when the module is not loaded or the device is not accessible.
  static VhostNet open();

  uint64_t features() const { return features_; }

  // Starts the kernel data path for rings[0] (receive) and rings[1]
  // (transmit) on `tap_fd`, with the driver's `features`. Throws Error (the
  // device then needs a reset; nothing keeps running).
  void start(const GuestMemory& memory, uint64_t features, std::span<const Ring> rings,
             int tap_fd);
  // Detaches the tap from every ring: afterwards vhost touches neither the
  // guest's memory nor the tap. Safe to call when not started.
  void stop();

  // For a VM pause: detaches the tap as stop() does but keeps the rings set
  // up (VHOST_NET_SET_BACKEND with fd -1 waits for the frame in hand). A
  // start() while paused sets the rings up and leaves them detached.
  void pause();
  // Re-attaches the tap to the rings start() set up. The kernel keeps each
  // ring's next available index across the detach and re-reads the used
  // index, so vhost goes on where it stopped. Throws Error when the kernel
  // refuses (the rings stay detached).
  void resume();

 private:
  explicit VhostNet(UniqueFd fd, uint64_t features) : fd_(std::move(fd)), features_(features) {}
  void set_backend(unsigned ring, int fd);
  void attach();
  void detach();

  UniqueFd fd_;
  uint64_t features_;
  unsigned rings_ = 0;     // Set up by start(), until stop().
  unsigned attached_ = 0;  // Rings whose backend is the tap.
  int tap_fd_ = -1;        // Not owned: the device's backend, which outlives this.
  bool paused_ = false;
};

}  // namespace kvmm

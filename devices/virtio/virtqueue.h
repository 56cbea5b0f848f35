#pragma once
// The device side of a split virtqueue (virtio 1.2 §2.7).
//
// Every value read from the rings is guest-controlled. The rings are checked
// as a whole when the queue is enabled (validate()); each chain is walked with
// a bound (the queue size, §2.7.5.3.1), indirect tables are checked and may
// not nest (§2.7.5.3.1), readable descriptors must precede writable ones
// (§2.7.4.2), and lengths are summed with overflow checks. A malformed chain
// is a failed request, not a VMM failure; a malformed ring (an available
// index more than a queue ahead) breaks the queue until the driver resets it.
//
// Threads: the transport configures the queue on a vCPU thread before
// DRIVER_OK; afterwards only the device's I/O thread uses it.
//
// Policy choices where the spec leaves room (virtqueue.cc says why):
// - a zero-length descriptor is accepted and yields no buffer;
// - an indirect table holds at most Queue Size entries (§2.7.5.3.1: a chain
//   is never longer than the Queue Size), and a direct chain may end in one
//   indirect descriptor (§2.7.5.3.2);
// - a chain's total length (readable + writable) must fit in 32 bits.
// The queue never logs: it returns why, and the device logs (rate-limited).
#include <cstdint>
#include <optional>
#include <string>

#include "base/memory/guest_memory.h"
#include "devices/virtio/descriptor_chain.h"

namespace kvmm {

class Virtqueue {
 public:
  // Written by the driver through the transport's queue registers (§4.2.2).
  struct Config {
    uint16_t size = 0;  // QueueNum; 0 until the driver sets it.
    bool ready = false;
    uint64_t desc_table = 0;
    uint64_t avail_ring = 0;
    uint64_t used_ring = 0;
  };

  explicit Virtqueue(uint16_t max_size) : max_size_(max_size) {}

  uint16_t max_size() const { return max_size_; }
  Config& config() { return config_; }
  const Config& config() const { return config_; }

  // Checks the configuration against §2.7 (size a power of two no larger than
  // max_size, ring alignment, each whole ring inside guest memory). Returns
  // why it is unusable, or nullopt. Call before the first pop().
  std::optional<std::string> validate(const GuestMemory& memory) const;

  // Starts using the queue: binds memory and the negotiated features, and
  // starts both ring indices at 0. `memory` must outlive the activation. A
  // configuration validate() refuses leaves the queue broken (defence in
  // depth: the transport is expected to have refused it already).
  void activate(const GuestMemory& memory, bool indirect, bool event_idx);
  // Back to the power-on state (§2.7, after a device reset).
  void reset();

  enum class PopStatus {
    kEmpty,   // Nothing new in the available ring.
    kChain,   // `chain` is a well-formed request.
    kBadChain,  // The chain at `chain.head` is malformed (see `error`); return it used with length 0.
    kBroken,  // The ring itself is inconsistent; stop using the queue (DEVICE_NEEDS_RESET).
  };
  struct PopResult {
    PopStatus status = PopStatus::kEmpty;
    DescriptorChain chain;
    std::string error;  // Why, for kBadChain and kBroken; for the log.
  };
  // Takes the next available chain.
  PopResult pop();

  // Puts `head` in the used ring with `written` bytes (§2.7.8). Returns false
  // when the used ring is no longer inside guest memory (queue broken).
  [[nodiscard]] bool add_used(uint16_t head, uint32_t written);

  // §2.7.7 (Used Buffer Notification Suppression): after a batch of
  // add_used(), whether the driver wants a used-buffer notification
  // (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX). False when
  // nothing was added since the last call.
  bool needs_notification();

  // §2.7.10 (Available Buffer Notification Suppression): before sleeping on
  // the notify eventfd, publish avail_event (with EVENT_IDX) so the driver
  // notifies for the next buffer. Returns true if buffers arrived meanwhile
  // (re-check pop() instead of sleeping). False once the queue is broken.
  bool enable_notification();

  bool broken() const { return broken_; }

 private:
  struct Descriptor;
  struct ChainWalk;
  PopResult break_queue(std::string why);
  std::optional<std::string> walk_chain(uint16_t head, DescriptorChain& chain) const;
  std::optional<std::string> walk_indirect(uint16_t index, GuestAddress table, uint32_t length,
                                           ChainWalk& walk, DescriptorChain& chain) const;
  std::optional<std::string> add_buffer(const Descriptor& descriptor, ChainWalk& walk,
                                        DescriptorChain& chain) const;
  GuestAddress avail_field(uint64_t offset) const;
  GuestAddress used_field(uint64_t offset) const;

  uint16_t max_size_;
  Config config_;
  const GuestMemory* memory_ = nullptr;
  bool indirect_ = false;
  bool event_idx_ = false;
  bool broken_ = false;
  uint16_t next_avail_ = 0;
  uint16_t next_used_ = 0;
  uint16_t signalled_used_ = 0;  // used idx at the last notification decision.
  bool signalled_used_valid_ = false;
  std::string broken_reason_;
};

}  // namespace kvmm

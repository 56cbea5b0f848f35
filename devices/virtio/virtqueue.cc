#include "devices/virtio/virtqueue.h"

#include <atomic>
#include <bit>
#include <cstring>
#include <utility>

#include "base/util/format.h"

namespace kvmm {

// Virtio 1.x rings are little-endian (§2.7, unlike legacy); so is x86-64,
// which is why fields are copied without byte swapping.
static_assert(std::endian::native == std::endian::little);

// struct virtq_desc (§2.7.5). Copied out of guest memory whole, then checked:
// the guest can rewrite the table while we look at it.
struct Virtqueue::Descriptor {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};

// What a chain walk has seen so far, across direct and indirect descriptors.
struct Virtqueue::ChainWalk {
  bool seen_writable = false;
  uint64_t total_bytes = 0;
};

namespace {

constexpr uint16_t kDescFNext = 1;          // VIRTQ_DESC_F_NEXT
constexpr uint16_t kDescFWrite = 2;         // VIRTQ_DESC_F_WRITE
constexpr uint16_t kDescFIndirect = 4;      // VIRTQ_DESC_F_INDIRECT
constexpr uint16_t kAvailFNoInterrupt = 1;  // VIRTQ_AVAIL_F_NO_INTERRUPT

// §2.7: the alignment and size of each part. (Its largest Queue Size,
// 32768, needs no check of its own: it is the largest 16-bit power of two.)
constexpr uint64_t kDescAlign = 16;
constexpr uint64_t kAvailAlign = 2;
constexpr uint64_t kUsedAlign = 4;
constexpr uint64_t kDescSize = 16;
constexpr uint64_t kUsedElemSize = 8;
// flags and idx precede each ring; used_event / avail_event follow it (§2.7.6,
// §2.7.8). The trailing field is checked even without EVENT_IDX so that the
// check does not depend on feature negotiation order.
constexpr uint64_t kRingHeader = 4;
constexpr uint64_t kRingTrailer = 2;

uint64_t desc_table_bytes(uint16_t size) { return kDescSize * size; }
uint64_t avail_ring_bytes(uint16_t size) { return kRingHeader + 2ull * size + kRingTrailer; }
uint64_t used_ring_bytes(uint16_t size) {
  return kRingHeader + kUsedElemSize * size + kRingTrailer;
}

uint16_t* as_u16(std::span<uint8_t> host) {
  return static_cast<uint16_t*>(static_cast<void*>(host.data()));
}
bool atomic_capable(std::span<uint8_t> host) {
  constexpr size_t kAlign = std::atomic_ref<uint16_t>::required_alignment;
  return reinterpret_cast<uintptr_t>(host.data()) % kAlign == 0;
}

// The driver publishes avail.idx after filling the ring and descriptors
// (§2.7.13.3.1); the acquire pairs with its barrier so nothing the index
// covers is read stale. Ring alignment (checked in validate()) makes the host
// address 2-aligned whenever the region's mapping is; the fence covers the
// other case.
std::optional<uint16_t> load_acquire(const GuestMemory& memory, GuestAddress gpa) {
  auto host = memory.slice(gpa, sizeof(uint16_t));
  if (!host) return std::nullopt;
  if (atomic_capable(*host)) {
    return std::atomic_ref<uint16_t>(*as_u16(*host)).load(std::memory_order_acquire);
  }
  uint16_t value;
  std::memcpy(&value, host->data(), sizeof value);
  std::atomic_thread_fence(std::memory_order_acquire);
  return value;
}

// The release orders the used element (and the device's writes into the
// buffers) before the index the driver polls (§2.7.8.2).
bool store_release(const GuestMemory& memory, GuestAddress gpa, uint16_t value) {
  auto host = memory.slice(gpa, sizeof(uint16_t));
  if (!host) return false;
  if (atomic_capable(*host)) {
    std::atomic_ref<uint16_t>(*as_u16(*host)).store(value, std::memory_order_release);
  } else {
    std::atomic_thread_fence(std::memory_order_release);
    std::memcpy(host->data(), &value, sizeof value);
  }
  return true;
}

std::string range(uint64_t addr, uint64_t length) {
  return "[" + hex(addr) + ", +" + hex(length) + ")";
}

// Linux's vring_need_event() (include/uapi/linux/virtio_ring.h), the rule of
// §2.7.7.2 for a batch: notify iff used_event lies in [old_idx, new_idx), the
// entries written since the last decision, all in wrapping 16-bit arithmetic.
bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

}  // namespace

std::optional<std::string> Virtqueue::validate(const GuestMemory& memory) const {
  const Config& c = config_;
  // §2.7: "Queue Size value is always a power of 2. The maximum Queue Size
  // value is 32768"; §4.2.2: QueueNum must not exceed QueueNumMax.
  if (c.size == 0 || !std::has_single_bit(c.size)) {
    return "queue size " + std::to_string(c.size) + " is not a power of two (§2.7)";
  }
  if (c.size > max_size_) {
    return "queue size " + std::to_string(c.size) + " exceeds the maximum " +
           std::to_string(max_size_) + " (§2.7, QueueNumMax)";
  }
  // §2.7.1: each part's first byte is a multiple of its alignment.
  struct Part {
    const char* name;
    uint64_t addr;
    uint64_t align;
    uint64_t bytes;
  };
  const Part parts[] = {
      {"descriptor table", c.desc_table, kDescAlign, desc_table_bytes(c.size)},
      {"available ring", c.avail_ring, kAvailAlign, avail_ring_bytes(c.size)},
      {"used ring", c.used_ring, kUsedAlign, used_ring_bytes(c.size)},
  };
  for (const Part& part : parts) {
    if (part.addr % part.align != 0) {
      return std::string(part.name) + " at " + hex(part.addr) + " is not " +
             std::to_string(part.align) + "-byte aligned (§2.7.1)";
    }
    // The whole part, not just its start, in one region of guest RAM; slice()
    // refuses wrap-around and ranges across a gap or the MMIO hole.
    if (!memory.slice(GuestAddress{part.addr}, part.bytes)) {
      return std::string(part.name) + " " + range(part.addr, part.bytes) +
             " is not inside guest memory";
    }
  }
  return std::nullopt;
}

void Virtqueue::activate(const GuestMemory& memory, bool indirect, bool event_idx) {
  // The driver's configuration stays; the device-side state starts afresh.
  const Config config = config_;
  reset();
  config_ = config;
  memory_ = &memory;
  indirect_ = indirect;
  event_idx_ = event_idx;
  if (auto why = validate(memory)) {
    broken_ = true;
    broken_reason_ = *why;
  }
}

void Virtqueue::reset() {
  config_ = Config{};
  memory_ = nullptr;
  indirect_ = false;
  event_idx_ = false;
  broken_ = false;
  broken_reason_.clear();
  next_avail_ = 0;
  next_used_ = 0;
  signalled_used_ = 0;
  signalled_used_valid_ = false;
}

GuestAddress Virtqueue::avail_field(uint64_t offset) const {
  // validate() put the whole ring inside memory, so this cannot wrap.
  return GuestAddress{config_.avail_ring + offset};
}
GuestAddress Virtqueue::used_field(uint64_t offset) const {
  return GuestAddress{config_.used_ring + offset};
}

Virtqueue::PopResult Virtqueue::break_queue(std::string why) {
  broken_ = true;
  broken_reason_ = std::move(why);
  return PopResult{PopStatus::kBroken, {}, broken_reason_};
}

Virtqueue::PopResult Virtqueue::pop() {
  if (broken_) return PopResult{PopStatus::kBroken, {}, broken_reason_};
  if (memory_ == nullptr) return break_queue("queue used before activation");
  const uint16_t size = config_.size;

  // Guest-controlled.
  const std::optional<uint16_t> avail_idx = load_acquire(*memory_, avail_field(2));
  if (!avail_idx) return break_queue("available ring is no longer inside guest memory");
  const uint16_t pending = static_cast<uint16_t>(*avail_idx - next_avail_);
  if (pending == 0) return PopResult{};
  // §2.7.13: the ring holds at most Queue Size entries, so a driver can never
  // be more than that ahead; an index beyond is a corrupt ring, not a request.
  if (pending > size) {
    return break_queue("available index " + std::to_string(*avail_idx) + " is " +
                       std::to_string(pending) +
                       " entries ahead of the device, more than the queue size " +
                       std::to_string(size) + " (§2.7.13)");
  }

  // Guest-controlled. Size is a power of two, so the mask is the modulo.
  const uint64_t slot = next_avail_ & (size - 1u);
  const std::optional<uint16_t> head =
      memory_->read_obj<uint16_t>(avail_field(kRingHeader + 2 * slot));
  if (!head) return break_queue("available ring is no longer inside guest memory");
  // §2.7.5: a head indexes the descriptor table. A bad head cannot be
  // returned through the used ring (the driver would look up a descriptor it
  // never offered), so the ring as a whole is unusable.
  if (*head >= size) {
    return break_queue("available ring entry " + std::to_string(next_avail_) +
                       " names descriptor " + std::to_string(*head) + ", beyond the queue size " +
                       std::to_string(size) + " (§2.7.5)");
  }
  ++next_avail_;

  PopResult result;
  result.chain.head = *head;
  if (auto why = walk_chain(*head, result.chain)) {
    // A malformed chain fails this request only: the device returns the head
    // with length 0 and carries on with the next one.
    result.status = PopStatus::kBadChain;
    result.error = "descriptor chain at head " + std::to_string(*head) + ": " + *why;
    result.chain = DescriptorChain{};
    result.chain.head = *head;
  } else {
    result.status = PopStatus::kChain;
  }
  return result;
}

std::optional<std::string> Virtqueue::walk_chain(uint16_t head, DescriptorChain& chain) const {
  static_assert(sizeof(Descriptor) == kDescSize);
  const uint16_t size = config_.size;
  ChainWalk walk;
  uint16_t index = head;
  // §2.7.5.3.1: "A driver MUST NOT create a descriptor chain longer than the
  // Queue Size"; the bound is what turns a loop (§2.7.5.2 forbids them) into
  // an error instead of a hang.
  for (uint32_t walked = 0;; ++walked) {
    if (walked == size) {
      return "longer than the queue size " + std::to_string(size) + " (a loop?) (§2.7.5.3.1)";
    }
    // Guest-controlled.
    const auto descriptor =
        memory_->read_obj<Descriptor>(GuestAddress{config_.desc_table + kDescSize * index});
    if (!descriptor) return "descriptor table is no longer inside guest memory";
    if (descriptor->flags & kDescFIndirect) {
      // §2.7.5.3.1: only when negotiated, and never together with NEXT, so an
      // indirect descriptor always ends the direct part of the chain
      // (§2.7.5.3.2 lets direct descriptors precede it).
      if (!indirect_) {
        return "descriptor " + std::to_string(index) +
               " is indirect but VIRTIO_F_INDIRECT_DESC was not negotiated (§2.7.5.3.1)";
      }
      if (descriptor->flags & kDescFNext) {
        return "descriptor " + std::to_string(index) + " sets both INDIRECT and NEXT (§2.7.5.3.1)";
      }
      return walk_indirect(index, GuestAddress{descriptor->addr}, descriptor->len, walk, chain);
    }
    if (auto why = add_buffer(*descriptor, walk, chain)) {
      return "descriptor " + std::to_string(index) + ": " + *why;
    }
    if (!(descriptor->flags & kDescFNext)) return std::nullopt;
    // §2.7.5: next indexes the same table.
    if (descriptor->next >= size) {
      return "descriptor " + std::to_string(index) + " chains to " +
             std::to_string(descriptor->next) + ", beyond the queue size " + std::to_string(size) +
             " (§2.7.5)";
    }
    index = descriptor->next;
  }
}

std::optional<std::string> Virtqueue::walk_indirect(uint16_t index, GuestAddress table,
                                                    uint32_t length, ChainWalk& walk,
                                                    DescriptorChain& chain) const {
  // Messages are built only for a chain that fails: a valid request (Linux
  // sends most through an indirect table) allocates no string.
  const auto where = [index] { return "indirect table of descriptor " + std::to_string(index); };
  // §2.7.5.3: the table is len / 16 descriptors; a remainder or an empty table
  // is not a table.
  if (length == 0 || length % kDescSize != 0) {
    return where() + " has length " + std::to_string(length) +
           ", not a nonzero multiple of 16 (§2.7.5.3)";
  }
  const uint32_t entries = length / kDescSize;
  // §2.7.5.3.1 bounds the whole chain by the Queue Size; the same bound keeps
  // a table (and the walk) small. Linux never builds a larger one for queues
  // of kvmm's sizes.
  if (entries > config_.size) {
    return where() + " has " + std::to_string(entries) + " entries, more than the queue size " +
           std::to_string(config_.size) + " (§2.7.5.3.1)";
  }
  // The whole table in one region of guest RAM.
  auto host = memory_->slice(table, length);
  if (!host) return where() + " " + range(table.value, length) + " is not inside guest memory";

  uint32_t entry = 0;
  for (uint32_t walked = 0;; ++walked) {
    if (walked == entries) {
      return where() + " chains more than its " + std::to_string(entries) +
             " entries (a loop?) (§2.7.5.2)";
    }
    // Guest-controlled: copied out before use.
    Descriptor descriptor;
    std::memcpy(&descriptor, host->data() + kDescSize * entry, sizeof descriptor);
    const auto at = [&where, entry] { return where() + " entry " + std::to_string(entry); };
    // §2.7.5.3.1: "MUST NOT set the VIRTQ_DESC_F_INDIRECT flag within an
    // indirect descriptor".
    if (descriptor.flags & kDescFIndirect) return at() + " is itself indirect (§2.7.5.3.1)";
    if (auto why = add_buffer(descriptor, walk, chain)) return at() + ": " + *why;
    if (!(descriptor.flags & kDescFNext)) return std::nullopt;
    // §2.7.5.3: next indexes the indirect table.
    if (descriptor.next >= entries) {
      return at() + " chains to " + std::to_string(descriptor.next) + ", beyond the table's " +
             std::to_string(entries) + " entries (§2.7.5.3)";
    }
    entry = descriptor.next;
  }
}

std::optional<std::string> Virtqueue::add_buffer(const Descriptor& descriptor, ChainWalk& walk,
                                                 DescriptorChain& chain) const {
  const bool writable = (descriptor.flags & kDescFWrite) != 0;
  // §2.7.4.2: "The driver MUST place any device-writable descriptor elements
  // after any device-readable descriptor elements."
  if (writable) {
    walk.seen_writable = true;
  } else if (walk.seen_writable) {
    return std::string("device-readable buffer after a device-writable one (§2.7.4.2)");
  }
  // §2.7.5.2: a chain is never longer than 2^32 bytes. We also refuse exactly
  // 2^32: used.len is 32 bits (§2.7.8). Each len is 32 bits and a chain has at
  // most 2 * 32768 buffers, so the 64-bit sum itself cannot overflow.
  walk.total_bytes += descriptor.len;
  if (walk.total_bytes > UINT32_MAX) {
    return "chain totals more than " + hex(UINT32_MAX) + " bytes (§2.7.5.2)";
  }
  // A zero-length buffer carries nothing, so it is skipped rather than
  // refused: the spec does not forbid it, and skipping means its address is
  // never used (QEMU refuses them; Firecracker and rust-vmm accept them).
  if (descriptor.len == 0) return std::nullopt;
  // The whole [addr, addr+len) in one region of guest RAM: not past the end
  // of RAM, not in the MMIO hole, not wrapping past 2^64.
  auto host = memory_->slice(GuestAddress{descriptor.addr}, descriptor.len);
  if (!host)
    return "buffer " + range(descriptor.addr, descriptor.len) + " is not inside guest memory";
  if (writable) {
    chain.writable.push_back(ChainBuffer{GuestAddress{descriptor.addr}, *host});
    chain.writable_bytes += descriptor.len;
  } else {
    chain.readable.push_back(ChainBuffer{GuestAddress{descriptor.addr}, *host});
    chain.readable_bytes += descriptor.len;
  }
  return std::nullopt;
}

bool Virtqueue::add_used(uint16_t head, uint32_t written) {
  if (broken_ || memory_ == nullptr) return false;
  const uint64_t slot = next_used_ & (config_.size - 1u);
  // struct virtq_used_elem (§2.7.8): le32 id, le32 len. id is 32 bits wide
  // only for padding.
  const uint32_t element[2] = {head, written};
  if (!memory_->write_obj(used_field(kRingHeader + kUsedElemSize * slot), element)) {
    broken_ = true;
    broken_reason_ = "used ring is no longer inside guest memory";
    return false;
  }
  ++next_used_;
  // §2.7.8.2: len is set before idx moves.
  if (!store_release(*memory_, used_field(2), next_used_)) {
    broken_ = true;
    broken_reason_ = "used ring is no longer inside guest memory";
    return false;
  }
  return true;
}

bool Virtqueue::needs_notification() {
  if (broken_ || memory_ == nullptr) return false;
  // Orders our used.idx store before the loads below, pairing with the
  // driver's barrier between its flags/used_event update and reading used.idx
  // (§2.7.14): without it both sides could miss each other and stall.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint16_t old_idx = signalled_used_;
  const bool old_valid = signalled_used_valid_;
  if (old_idx == next_used_) return false;  // Nothing used since the last decision.
  signalled_used_ = next_used_;
  signalled_used_valid_ = true;
  if (!event_idx_) {
    // Guest-controlled. §2.7.7.2: flags 1 means SHOULD NOT notify.
    const auto flags = memory_->read_obj<uint16_t>(avail_field(0));
    return !flags || !(*flags & kAvailFNoInterrupt);
  }
  // Guest-controlled: used_event trails the available ring (§2.7.6).
  const auto used_event =
      memory_->read_obj<uint16_t>(avail_field(kRingHeader + 2ull * config_.size));
  if (!used_event) return true;
  // The first decision has no previous index to compare against: notify.
  if (!old_valid) return true;
  return need_event(*used_event, next_used_, old_idx);
}

bool Virtqueue::enable_notification() {
  if (broken_ || memory_ == nullptr) return false;
  if (event_idx_) {
    // §2.7.10: the driver notifies when avail.idx passes avail_event, which
    // trails the used ring (§2.7.8). Pointing it at the next entry we will
    // read asks for exactly one notification for the next buffer.
    if (!memory_->write_obj(used_field(kRingHeader + kUsedElemSize * config_.size), next_avail_)) {
      broken_ = true;
      broken_reason_ = "used ring is no longer inside guest memory";
      return false;
    }
  }
  // Orders the avail_event store before re-reading avail.idx: a buffer the
  // driver published before seeing our avail_event is caught here.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const auto avail_idx = load_acquire(*memory_, avail_field(2));
  return avail_idx && *avail_idx != next_avail_;
}

}  // namespace kvmm

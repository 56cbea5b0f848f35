#pragma once
// FakeDriver: the driver side of one split virtqueue (virtio 1.2 §2.7), laid
// out in a GuestMemory, for testing the device side without a guest.
//
//   GuestMemory memory;  memory.add_region(GuestAddress{0}, 1 << 20);
//   FakeDriver driver(memory, 8, GuestAddress{0x1000});
//   Virtqueue queue(8);
//   driver.configure(queue);                 // size + ring addresses, ready
//   queue.activate(memory, true, false);     // indirect, event_idx
//   GuestAddress header = driver.allocate(16), status = driver.allocate(1);
//   uint16_t head = driver.add_chain({{header, 16, Access::kReadable},
//                                     {status, 1, Access::kWritable}});
//   driver.publish();                        // avail.idx moves: device sees it
//   ... the device pops, works, add_used() ...
//   std::optional<UsedElement> used = driver.next_used();  // {id == head, len}
//
// It is written independently of devices/virtio/virtqueue.cc (its own layout
// constants), so a layout mistake in one is not mirrored in the other. Ring
// accesses are plain copies: tests run driver and device on one thread.
//
// The well-behaved calls (add_chain, add_indirect_chain, publish, next_used)
// take descriptors from a free list and give them back when used, so any
// number of requests can run through a small queue. The raw calls
// (write_descriptor, make_available, set_avail_idx, ...) write whatever a
// hostile driver would and leave the free list alone. Misuse of the helper
// itself (out of descriptors or data space) throws std::logic_error.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/memory/guest_memory.h"
#include "devices/virtio/virtqueue.h"

namespace kvmm::testing {

// Descriptor flags (§2.7.5).
inline constexpr uint16_t kDescNext = 1;
inline constexpr uint16_t kDescWrite = 2;
inline constexpr uint16_t kDescIndirect = 4;
// Ring flags (§2.7.6, §2.7.8).
inline constexpr uint16_t kAvailNoInterrupt = 1;

enum class Access { kReadable, kWritable };

// One buffer of a request: device-readable (driver→device) or writable.
struct Buffer {
  GuestAddress gpa;
  uint32_t len = 0;
  Access access = Access::kReadable;
};

// struct virtq_desc as the guest writes it, for building hostile chains.
struct RawDescriptor {
  uint64_t addr = 0;
  uint32_t len = 0;
  uint16_t flags = 0;
  uint16_t next = 0;
};
static_assert(sizeof(RawDescriptor) == 16);

// struct virtq_used_elem (§2.7.8).
struct UsedElement {
  uint32_t id = 0;
  uint32_t len = 0;
};

class FakeDriver {
 public:
  // Lays out the descriptor table at `base` (16-aligned), the available ring
  // right after it and the used ring after that (4-aligned), zeroes them, and
  // reserves `data_bytes` from the next 4 KiB boundary for allocate().
  FakeDriver(const GuestMemory& memory, uint16_t queue_size, GuestAddress base,
             uint64_t data_bytes = 0x10000)
      : memory_(memory), size_(queue_size) {
    if (queue_size == 0 || base.value % 16 != 0) {
      throw std::logic_error("FakeDriver: queue size 0 or base not 16-byte aligned");
    }
    desc_ = base;
    avail_ = GuestAddress{desc_.value + 16ull * size_};
    used_ = GuestAddress{align_up(avail_.value + 6 + 2ull * size_, 4)};
    data_next_ = align_up(used_.value + 6 + 8ull * size_, 0x1000);
    data_end_ = data_next_ + data_bytes;
    if (!memory_.slice(base, data_end_ - base.value)) {
      throw std::logic_error("FakeDriver: rings and data area are not inside guest memory");
    }
    fill(base, data_next_ - base.value, 0);
    for (uint16_t i = size_; i > 0; --i) free_.push_back(static_cast<uint16_t>(i - 1));
  }

  uint16_t size() const { return size_; }
  GuestAddress desc_table() const { return desc_; }
  GuestAddress avail_ring() const { return avail_; }
  GuestAddress used_ring() const { return used_; }

  // What the driver writes to the transport's queue registers (§4.2.2).
  Virtqueue::Config config() const {
    Virtqueue::Config config;
    config.size = size_;
    config.ready = true;
    config.desc_table = desc_.value;
    config.avail_ring = avail_.value;
    config.used_ring = used_.value;
    return config;
  }
  void configure(Virtqueue& queue) const { queue.config() = config(); }

  // Guest memory for buffers and indirect tables, never reused.
  GuestAddress allocate(uint64_t bytes, uint64_t align = 16) {
    const uint64_t at = align_up(data_next_, align);
    if (at > data_end_ || bytes > data_end_ - at)
      throw std::logic_error("FakeDriver: data area full");
    data_next_ = at + bytes;
    return GuestAddress{at};
  }
  void write(GuestAddress gpa, std::span<const uint8_t> bytes) const {
    check(memory_.write(gpa, bytes));
  }
  std::vector<uint8_t> read(GuestAddress gpa, size_t len) const {
    std::vector<uint8_t> bytes(len);
    check(memory_.read(gpa, bytes));
    return bytes;
  }
  void fill(GuestAddress gpa, uint64_t len, uint8_t value) const {
    auto host = memory_.slice(gpa, len);
    check(host.has_value());
    std::memset(host->data(), value, host->size());
  }

  // A direct chain (§2.7.13.1) from free descriptors, its head put in the
  // next available slot; the device sees it after publish(). Returns the head:
  // `head` when given (it must be free), else the next free descriptor.
  uint16_t add_chain(const std::vector<Buffer>& buffers, std::optional<uint16_t> head = {}) {
    if (buffers.empty() || buffers.size() > free_.size()) {
      throw std::logic_error("FakeDriver: empty chain or out of descriptors");
    }
    std::vector<uint16_t> indices;
    if (head) {
      const auto it = std::find(free_.begin(), free_.end(), *head);
      if (it == free_.end()) throw std::logic_error("FakeDriver: that head is not free");
      free_.erase(it);
      indices.push_back(*head);
    }
    while (indices.size() < buffers.size()) {
      indices.push_back(free_.back());
      free_.pop_back();
    }
    for (size_t i = 0; i < buffers.size(); ++i) {
      const bool last = i + 1 == buffers.size();
      write_descriptor(indices[i], describe(buffers[i], last ? 0 : kDescNext,
                                            last ? 0 : static_cast<uint16_t>(indices[i + 1])));
    }
    in_flight_[indices[0]] = indices;
    make_available(indices[0]);
    return indices[0];
  }

  // One descriptor with VIRTQ_DESC_F_INDIRECT pointing at a table of
  // `buffers` (§2.7.5.3), built at `table` or in the data area.
  uint16_t add_indirect_chain(const std::vector<Buffer>& buffers) {
    return add_indirect_chain(allocate(16 * buffers.size(), 16), buffers);
  }
  uint16_t add_indirect_chain(GuestAddress table, const std::vector<Buffer>& buffers) {
    if (buffers.empty() || free_.empty())
      throw std::logic_error("FakeDriver: empty table or out of descriptors");
    for (size_t i = 0; i < buffers.size(); ++i) {
      const bool last = i + 1 == buffers.size();
      write_descriptor_at(
          GuestAddress{table.value + 16 * i},
          describe(buffers[i], last ? 0 : kDescNext, last ? 0 : static_cast<uint16_t>(i + 1)));
    }
    const uint16_t head = free_.back();
    free_.pop_back();
    write_descriptor(head, RawDescriptor{table.value, static_cast<uint32_t>(16 * buffers.size()),
                                         kDescIndirect, 0});
    in_flight_[head] = {head};
    make_available(head);
    return head;
  }

  // Raw access for hostile drivers: any descriptor, anywhere.
  void write_descriptor(uint16_t index, const RawDescriptor& descriptor) const {
    write_descriptor_at(GuestAddress{desc_.value + 16ull * index}, descriptor);
  }
  void write_descriptor_at(GuestAddress gpa, const RawDescriptor& descriptor) const {
    check(memory_.write_obj(gpa, descriptor));
  }
  // Puts `head` (any value) in the next available slot, not yet published.
  void make_available(uint16_t head) {
    const uint16_t slot = static_cast<uint16_t>((avail_idx_ + pending_) % size_);
    check(memory_.write_obj(GuestAddress{avail_.value + 4 + 2ull * slot}, head));
    ++pending_;
  }
  // §2.7.13.3: avail.idx moves past everything made available so far.
  void publish() {
    avail_idx_ = static_cast<uint16_t>(avail_idx_ + pending_);
    pending_ = 0;
    store_release(GuestAddress{avail_.value + 2}, avail_idx_);
  }
  void set_avail_idx(uint16_t idx) {
    avail_idx_ = idx;
    pending_ = 0;
    store_release(GuestAddress{avail_.value + 2}, idx);
  }
  uint16_t avail_idx() const { return avail_idx_; }

  // Used buffer notification suppression (§2.7.7).
  void set_avail_flags(uint16_t flags) const { check(memory_.write_obj(avail_, flags)); }
  void set_used_event(uint16_t event) const {
    check(memory_.write_obj(GuestAddress{avail_.value + 4 + 2ull * size_}, event));
  }
  // What the device wrote for available buffer notifications (§2.7.10).
  uint16_t used_flags() const { return read_u16(used_); }
  uint16_t avail_event() const { return read_u16(GuestAddress{used_.value + 4 + 8ull * size_}); }

  uint16_t used_idx() const { return read_u16(GuestAddress{used_.value + 2}); }
  // The next used element the driver has not seen yet, or nullopt. Gives the
  // chain's descriptors back to the free list if add_chain built it.
  std::optional<UsedElement> next_used() {
    if (used_idx() == last_seen_used_) return std::nullopt;
    const uint16_t slot = static_cast<uint16_t>(last_seen_used_ % size_);
    auto element = memory_.read_obj<UsedElement>(GuestAddress{used_.value + 4 + 8ull * slot});
    check(element.has_value());
    ++last_seen_used_;
    if (auto it = in_flight_.find(static_cast<uint16_t>(element->id)); it != in_flight_.end()) {
      free_.insert(free_.end(), it->second.begin(), it->second.end());
      in_flight_.erase(it);
    }
    return element;
  }
  size_t free_descriptors() const { return free_.size(); }

 private:
  static uint64_t align_up(uint64_t value, uint64_t align) {
    return (value + align - 1) / align * align;
  }
  static void check(bool ok) {
    if (!ok) throw std::logic_error("FakeDriver: access outside guest memory");
  }
  static RawDescriptor describe(const Buffer& buffer, uint16_t flags, uint16_t next) {
    if (buffer.access == Access::kWritable) flags |= kDescWrite;
    return RawDescriptor{buffer.gpa.value, buffer.len, flags, next};
  }
  // A guest's barriers around the ring indexes (virtio 1.2 §2.7.13.3,
  // §2.7.8.2), as atomics on the host mapping: the device thread reads and
  // writes them concurrently, and plain copies would be a data race (TSan
  // reports it). The rings are 2-aligned, so the host address is too.
  void store_release(GuestAddress gpa, uint16_t value) {
    auto host = memory_.slice(gpa, sizeof value);
    check(host.has_value() && reinterpret_cast<uintptr_t>(host->data()) % 2 == 0);
    std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(host->data()))
        .store(value, std::memory_order_release);
  }
  uint16_t read_u16(GuestAddress gpa) const {
    auto host = memory_.slice(gpa, sizeof(uint16_t));
    check(host.has_value() && reinterpret_cast<uintptr_t>(host->data()) % 2 == 0);
    return std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(host->data()))
        .load(std::memory_order_acquire);
  }

  const GuestMemory& memory_;
  uint16_t size_;
  GuestAddress desc_, avail_, used_;
  uint64_t data_next_ = 0;
  uint64_t data_end_ = 0;
  uint16_t avail_idx_ = 0;
  uint16_t pending_ = 0;  // Made available, not yet published.
  uint16_t last_seen_used_ = 0;
  std::vector<uint16_t> free_;
  std::map<uint16_t, std::vector<uint16_t>> in_flight_;  // head -> its descriptors
};

// A FakeDriver and the real Virtqueue it drives, configured and activated:
// what a device under test pops from. The rings sit at `rings`; buffers go
// wherever the test puts them.
struct DrivenQueue {
  DrivenQueue(const GuestMemory& memory, uint16_t size, GuestAddress rings, bool indirect = true,
              bool event_idx = false)
      : driver(memory, size, rings, 0), queue(size) {
    driver.configure(queue);
    queue.activate(memory, indirect, event_idx);
  }
  // Offers a chain of `buffers` (with head `head` if given) and publishes it.
  uint16_t offer(const std::vector<Buffer>& buffers, std::optional<uint16_t> head = {}) {
    const uint16_t at = driver.add_chain(buffers, head);
    driver.publish();
    return at;
  }
  // Everything the device has put in the used ring so far, oldest first.
  const std::vector<UsedElement>& used() {
    while (std::optional<UsedElement> element = driver.next_used()) used_.push_back(*element);
    return used_;
  }

  FakeDriver driver;
  Virtqueue queue;

 private:
  std::vector<UsedElement> used_;
};

inline bool operator==(const UsedElement& a, const UsedElement& b) {
  return a.id == b.id && a.len == b.len;
}

// Descriptor chains exactly as Virtqueue::pop() hands them to a device, for
// tests of the code that consumes them (chain I/O, request parsing, frames):
// each is offered by the FakeDriver and popped from a real Virtqueue whose
// rings take the last 16 KiB of `memory`. The descriptors are returned at
// once (the buffers stay where the test put them), so any number of chains
// can be made, one at a time.
class ChainSource {
 public:
  explicit ChainSource(const GuestMemory& memory)
      : queue_(memory, kSize, rings_of(memory)) {}

  Virtqueue::PopResult pop(const std::vector<Buffer>& buffers, std::optional<uint16_t> head = {}) {
    queue_.offer(buffers, head);
    Virtqueue::PopResult popped = queue_.queue.pop();
    if (popped.status != Virtqueue::PopStatus::kEmpty &&
        popped.status != Virtqueue::PopStatus::kBroken) {
      if (!queue_.queue.add_used(popped.chain.head, 0)) {
        throw std::logic_error("ChainSource: the used ring is not in guest memory");
      }
      queue_.used();
    }
    return popped;
  }
  // The chain of a well-formed request; throws std::logic_error when the
  // queue refuses it.
  DescriptorChain chain(const std::vector<Buffer>& buffers, std::optional<uint16_t> head = {}) {
    Virtqueue::PopResult popped = pop(buffers, head);
    if (popped.status != Virtqueue::PopStatus::kChain) {
      throw std::logic_error("ChainSource: the queue refused the chain: " + popped.error);
    }
    return std::move(popped.chain);
  }

 private:
  static constexpr uint16_t kSize = 256;
  static GuestAddress rings_of(const GuestMemory& memory) {
    if (memory.regions().empty()) throw std::logic_error("ChainSource: no guest memory");
    const GuestMemory::Region& last = memory.regions().back();
    return GuestAddress{last.base.value + last.size() - 0x4000};
  }

  DrivenQueue queue_;
};

}  // namespace kvmm::testing

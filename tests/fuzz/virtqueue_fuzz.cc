// libFuzzer target: the device side of the split virtqueue against arbitrary
// guest memory. Run it with tools/fuzz virtqueue.
//
// Input: an 8-byte header, then bytes copied to guest address 0.
//   [0]    bits 0-3: queue size 1 << n for n <= 8, else 3 * n (not a power of
//          two); bit 4: the device's maximum is 16 instead of 256
//   [1]    bit 0: VIRTIO_F_INDIRECT_DESC; bit 1: VIRTIO_F_EVENT_IDX;
//          bit 2: the device writes into writable buffers (which may alias
//          the rings, as a hostile guest can arrange); bit 3: call
//          enable_notification() before every pop()
//   [2..7] descriptor table, available ring, used ring addresses (le16)
// Guest memory: RAM [0, 0x10000) and [0x20000, 0x21000), the gap between
// standing in for the MMIO hole.
//
// Beyond the sanitizers, it checks what pop() promises: every buffer's host
// span is the one GuestMemory gives for its guest range and lies inside a
// region's mapping, totals match and fit 32 bits, heads are in the queue.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "base/memory/guest_memory.h"
#include "devices/virtio/virtqueue.h"

namespace {

using kvmm::ChainBuffer;
using kvmm::GuestAddress;
using kvmm::GuestMemory;
using kvmm::Virtqueue;

constexpr size_t kHeaderBytes = 8;
constexpr uint64_t kLowRamBytes = 0x10000;
constexpr GuestAddress kHighRam{0x20000};
constexpr uint64_t kHighRamBytes = 0x1000;

// A broken promise is a bug: stop with a crash libFuzzer records.
void expect(bool condition) {
  if (!condition) __builtin_trap();
}

GuestMemory& guest_memory() {
  static GuestMemory* memory = [] {
    auto* m = new GuestMemory;
    m->add_region(GuestAddress{0}, kLowRamBytes);
    m->add_region(kHighRam, kHighRamBytes);
    return m;
  }();
  return *memory;
}

uint16_t le16(const uint8_t* bytes) { return static_cast<uint16_t>(bytes[0] | bytes[1] << 8); }

uint64_t check_buffers(const GuestMemory& memory, std::span<const ChainBuffer> buffers,
                       bool write) {
  uint64_t total = 0;
  for (const ChainBuffer& buffer : buffers) {
    expect(!buffer.host.empty());  // Zero-length descriptors add no buffer.
    auto expected = memory.slice(buffer.gpa, buffer.host.size());
    expect(expected.has_value() && expected->data() == buffer.host.data());
    bool inside = false;
    for (const GuestMemory::Region& region : memory.regions()) {
      const uint8_t* begin = region.mapping.data();
      inside |=
          buffer.host.data() >= begin && buffer.host.size() <= region.size() &&
          buffer.host.data() - begin <= static_cast<ptrdiff_t>(region.size() - buffer.host.size());
    }
    expect(inside);
    // Touch both ends (a stray span would fault here); not every byte, which
    // would make large chains slow without testing more.
    if (write) {
      buffer.host.front() = 0xa5;
      buffer.host.back() = 0x5a;
    } else {
      volatile uint8_t sink = buffer.host.front();
      sink = buffer.host.back();
      (void)sink;
    }
    total += buffer.host.size();
  }
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeaderBytes) return 0;
  GuestMemory& memory = guest_memory();
  for (const GuestMemory::Region& region : memory.regions())
    std::memset(region.mapping.data(), 0, region.size());
  const size_t body = std::min<size_t>(size - kHeaderBytes, kLowRamBytes);
  std::memcpy(memory.regions()[0].mapping.data(), data + kHeaderBytes, body);

  const unsigned size_code = data[0] & 0x0f;
  const uint16_t queue_size =
      static_cast<uint16_t>(size_code <= 8 ? 1u << size_code : 3 * size_code);
  const uint16_t max_size = (data[0] & 0x10) ? 16 : 256;
  const bool indirect = data[1] & 1;
  const bool event_idx = data[1] & 2;
  const bool device_writes = data[1] & 4;
  const bool enable_each_time = data[1] & 8;

  Virtqueue queue(max_size);
  queue.config().size = queue_size;
  queue.config().desc_table = le16(data + 2);
  queue.config().avail_ring = le16(data + 4);
  queue.config().used_ring = le16(data + 6);
  queue.config().ready = true;
  const bool valid = !queue.validate(memory).has_value();
  queue.activate(memory, indirect, event_idx);
  if (!valid) {
    // A refused configuration must never be used.
    expect(queue.broken() && queue.pop().status == Virtqueue::PopStatus::kBroken);
    return 0;
  }

  // pop() returns at most a queue's worth before the ring is empty, but the
  // device's own writes may move avail.idx: bound the loop regardless.
  const int rounds = 4 * queue_size + 8;
  for (int round = 0; round < rounds; ++round) {
    if (enable_each_time) (void)queue.enable_notification();
    Virtqueue::PopResult result = queue.pop();
    if (result.status == Virtqueue::PopStatus::kEmpty) break;
    if (result.status == Virtqueue::PopStatus::kBroken) {
      expect(queue.broken() && !result.error.empty());
      expect(!queue.add_used(0, 0));
      break;
    }
    expect(result.chain.head < queue_size);
    if (result.status == Virtqueue::PopStatus::kBadChain) {
      expect(!result.error.empty() && result.chain.readable.empty() &&
             result.chain.writable.empty());
      expect(queue.add_used(result.chain.head, 0));
    } else {
      const auto& chain = result.chain;
      expect(chain.readable.size() + chain.writable.size() <= 2u * queue_size);
      expect(check_buffers(memory, chain.readable, false) == chain.readable_bytes);
      expect(check_buffers(memory, chain.writable, device_writes) == chain.writable_bytes);
      expect(chain.readable_bytes + chain.writable_bytes <= UINT32_MAX);
      expect(queue.add_used(chain.head, static_cast<uint32_t>(chain.writable_bytes)));
    }
    (void)queue.needs_notification();
  }
  return 0;
}

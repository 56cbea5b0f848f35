#pragma once
// For virtio-net's unit tests: chains and queues from the one fake driver
// (tests/support/virtio_driver.h) on real Virtqueues, an interrupt that
// counts, and a socketpair standing in for the tap.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "base/memory/guest_memory.h"
#include "base/util/unique_fd.h"
#include "devices/virtio/net/net_engine.h"
#include "tests/support/virtio_driver.h"

namespace kvmm::testing {

// 1 MiB of guest RAM at 0.
inline constexpr uint64_t kNetMemorySize = 0x100000;
inline GuestMemory net_memory() {
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, kNetMemorySize);
  return memory;
}

struct ChainPart {
  uint64_t gpa;
  uint64_t size;
};

inline std::vector<Buffer> buffers_of(const std::vector<ChainPart>& readable,
                                      const std::vector<ChainPart>& writable) {
  std::vector<Buffer> buffers;
  for (const ChainPart& b : readable) {
    buffers.push_back({GuestAddress{b.gpa}, static_cast<uint32_t>(b.size), Access::kReadable});
  }
  for (const ChainPart& b : writable) {
    buffers.push_back({GuestAddress{b.gpa}, static_cast<uint32_t>(b.size), Access::kWritable});
  }
  // No buffers at all: one empty descriptor, which pop() drops (§2.7.5 allows len 0).
  if (buffers.empty()) buffers.push_back({GuestAddress{0}, 0, Access::kReadable});
  return buffers;
}

// The chain Virtqueue::pop() hands over for these buffers, with head `head`.
inline DescriptorChain make_chain(const GuestMemory& memory, uint16_t head,
                                  const std::vector<ChainPart>& readable,
                                  const std::vector<ChainPart>& writable) {
  ChainSource source(memory);
  return source.chain(buffers_of(readable, writable), head);
}

// A real queue of kNetQueueSize for NetEngine, filled by the fake driver;
// its rings at `rings`, away from the tests' buffers.
class NetTestQueue : public DrivenQueue {
 public:
  NetTestQueue(const GuestMemory& memory, GuestAddress rings)
      : DrivenQueue(memory, kNetQueueSize, rings) {}

  void push(uint16_t head, const std::vector<ChainPart>& readable,
            const std::vector<ChainPart>& writable) {
    offer(buffers_of(readable, writable), head);
  }
  // A chain pop() refuses (its buffer lies outside guest memory, §2.7.5):
  // the device must return it used with length 0.
  void push_bad_chain(uint16_t head) {
    offer({{GuestAddress{kNetMemorySize}, 16, Access::kReadable}}, head);
  }
  // An available index more than a queue ahead (§2.7.6): the ring is broken.
  void break_ring() {
    driver.set_avail_idx(static_cast<uint16_t>(driver.avail_idx() + kNetQueueSize + 1));
  }
  // The used ring moved out of guest memory under the device: add_used() fails.
  void lose_used_ring() { queue.config().used_ring = kNetMemorySize - 4; }

  // (head, written) of every used element so far.
  std::vector<std::pair<uint16_t, uint32_t>> used_pairs() {
    std::vector<std::pair<uint16_t, uint32_t>> pairs;
    for (const UsedElement& e : used()) pairs.emplace_back(static_cast<uint16_t>(e.id), e.len);
    return pairs;
  }
};

struct FakeInterrupt : VirtioInterrupt {
  int used = 0;
  int config_changes = 0;
  int needs_reset = 0;
  void signal_used() override { ++used; }
  void signal_config_change() override { ++config_changes; }
  void signal_needs_reset() override { ++needs_reset; }
};

// A non-blocking seqpacket socket pair: like a tap, one read per packet.
struct FakeTap {
  UniqueFd device;  // The engine's end.
  UniqueFd host;    // The test's end: the host side of the tap.
  FakeTap() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    device.reset(fds[0]);
    host.reset(fds[1]);
  }
};

// A NetEngine on real queues in 1 MiB of guest RAM (RX ring at 0xe0000, TX
// at 0xf0000), with a counting interrupt and a socketpair for its tap.
// `features` are what the driver accepted (the TX header is trimmed to them).
struct NetEngineRig {
  GuestMemory memory = net_memory();
  NetTestQueue rx{memory, GuestAddress{0xe0000}};
  NetTestQueue tx{memory, GuestAddress{0xf0000}};
  FakeInterrupt interrupt;
  NetCounters counters;
  FakeTap tap;
  NetEngine engine;
  explicit NetEngineRig(bool mergeable = true, uint64_t features = 0)
      : engine(tap.device.get(), mergeable, rx.queue, tx.queue, interrupt, counters, features) {}
};

}  // namespace kvmm::testing

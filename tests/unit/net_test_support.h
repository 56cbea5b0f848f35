#pragma once
// Fakes for virtio-net's unit tests: descriptor chains over a GuestMemory
// (what Virtqueue::pop() would return), a queue that hands them out and
// records what comes back, and an interrupt that counts.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "base/memory/guest_memory.h"
#include "base/util/unique_fd.h"
#include "devices/virtio/net/net_engine.h"

namespace kvmm::testing {

// 1 MiB of guest RAM at 0.
inline GuestMemory net_memory() {
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, 0x100000);
  return memory;
}

struct ChainPart {
  uint64_t gpa;
  uint64_t size;
};

inline DescriptorChain make_chain(const GuestMemory& memory, uint16_t head,
                                  const std::vector<ChainPart>& readable,
                                  const std::vector<ChainPart>& writable) {
  DescriptorChain chain;
  chain.head = head;
  for (const ChainPart& b : readable) {
    auto host = memory.slice(GuestAddress{b.gpa}, b.size);
    REQUIRE(host);
    chain.readable.push_back({GuestAddress{b.gpa}, *host});
    chain.readable_bytes += b.size;
  }
  for (const ChainPart& b : writable) {
    auto host = memory.slice(GuestAddress{b.gpa}, b.size);
    REQUIRE(host);
    chain.writable.push_back({GuestAddress{b.gpa}, *host});
    chain.writable_bytes += b.size;
  }
  return chain;
}

class FakeQueue : public NetQueue {
 public:
  std::deque<Virtqueue::PopResult> available;
  std::vector<std::pair<uint16_t, uint32_t>> used;
  int notification_checks = 0;
  bool used_ring_gone = false;

  void push(DescriptorChain chain) {
    Virtqueue::PopResult result;
    result.status = Virtqueue::PopStatus::kChain;
    result.chain = std::move(chain);
    available.push_back(std::move(result));
  }
  void push_status(Virtqueue::PopStatus status, uint16_t head = 0) {
    Virtqueue::PopResult result;
    result.status = status;
    result.chain.head = head;
    result.error = "fake error";
    available.push_back(std::move(result));
  }

  Virtqueue::PopResult pop() override {
    if (available.empty()) return {};
    Virtqueue::PopResult result = std::move(available.front());
    available.pop_front();
    return result;
  }
  bool add_used(uint16_t head, uint32_t written) override {
    if (used_ring_gone) return false;
    used.emplace_back(head, written);
    return true;
  }
  bool needs_notification() override {
    ++notification_checks;
    return true;
  }
  bool enable_notification() override { return false; }
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

}  // namespace kvmm::testing

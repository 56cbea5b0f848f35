// libFuzzer target for virtio-net's TX path: descriptor chains of any shape
// (as Virtqueue::pop() can return them: buffers inside guest memory, any
// sizes, readable and writable) with guest-chosen bytes, through gather_tx()
// and NetEngine::process_tx() into a socketpair standing in for the tap.
// The RX side gets the same chains as receive buffers.
//
// Input: byte 0 picks MRG_RXBUF, byte 1 the number of chains (1-5); each
// chain is a buffer count (0-8) and per buffer a flag byte (bit 0:
// writable), a 3-byte address and a 3-byte length; the rest is guest memory.
//
// Build and run: tools/fuzz net_tx --seconds 60 (seeds in
// tests/fuzz/corpus/net_tx). Standalone, from the repository root:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
//     tests/fuzz/net_tx_fuzz.cc devices/virtio/net/net_frames.cc \
//     devices/virtio/net/net_engine.cc base/memory/guest_memory.cc \
//     base/memory/mmap_region.cc base/util/log.cc base/util/error.cc base/util/format.cc \
//     -o build/net_tx_fuzz
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <vector>

#include "base/memory/guest_memory.h"
#include "devices/virtio/net/net_engine.h"
#include "devices/virtio/net/net_frames.h"

using namespace kvmm;

namespace {

constexpr uint64_t kMemorySize = 0x30000;  // Room for one 64 KiB frame and more.

class Queue : public NetQueue {
 public:
  std::deque<Virtqueue::PopResult> available;
  Virtqueue::PopResult pop() override {
    if (available.empty()) return {};
    Virtqueue::PopResult r = std::move(available.front());
    available.pop_front();
    return r;
  }
  bool add_used(uint16_t, uint32_t written) override {
    if (written > kMemorySize) std::abort();  // Never more than a chain holds.
    return true;
  }
  bool needs_notification() override { return true; }
  bool enable_notification() override { return false; }
};

struct Interrupt : VirtioInterrupt {
  void signal_used() override {}
  void signal_config_change() override {}
  void signal_needs_reset() override {}
};

struct Input {
  const uint8_t* data;
  size_t size;
  uint8_t byte() {
    if (size == 0) return 0;
    --size;
    return *data++;
  }
  uint32_t number(int bytes) {
    uint32_t value = 0;
    for (int i = 0; i < bytes; ++i) value = value << 8 | byte();
    return value;
  }
};

DescriptorChain chain_from(Input& in, const GuestMemory& memory, uint16_t head) {
  DescriptorChain chain;
  chain.head = head;
  const int buffers = in.byte() % 9;
  for (int i = 0; i < buffers; ++i) {
    const bool writable = in.byte() & 1;
    const uint64_t gpa = in.number(3) % kMemorySize;
    const uint64_t length = in.number(3) % (kMemorySize - gpa + 1);
    const auto host = memory.slice(GuestAddress{gpa}, length);
    if (!host) continue;
    // Readable buffers before writable ones, as Virtqueue guarantees.
    if (writable) {
      chain.writable.push_back({GuestAddress{gpa}, *host});
      chain.writable_bytes += length;
    } else if (chain.writable.empty()) {
      chain.readable.push_back({GuestAddress{gpa}, *host});
      chain.readable_bytes += length;
    }
  }
  return chain;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuestMemory memory = [] {
    GuestMemory m;
    m.add_region(GuestAddress{0}, kMemorySize);
    return m;
  }();
  static int fds[2] = {-1, -1};
  if (fds[0] < 0) {
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
      std::abort();
    }
    int big = 1 << 20;
    ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  }

  Input in{data, size};
  Queue rx;
  Queue tx;
  Interrupt interrupt;
  NetCounters counters;
  NetEngine engine(fds[0], (in.byte() & 1) != 0, rx, tx, interrupt, counters);
  const int chains = in.byte() % 5 + 1;
  for (int i = 0; i < chains; ++i) {
    Virtqueue::PopResult r;
    r.status = Virtqueue::PopStatus::kChain;
    r.chain = chain_from(in, memory, static_cast<uint16_t>(i));
    Virtqueue::PopResult copy = r;
    tx.available.push_back(std::move(r));
    rx.available.push_back(std::move(copy));
  }
  // The rest is guest memory contents (headers, frames).
  const size_t n = in.size < kMemorySize ? in.size : kMemorySize;
  if (!memory.write(GuestAddress{0}, std::span<const uint8_t>(in.data, n))) std::abort();

  TxFrame frame;
  for (const auto& r : tx.available) {
    if (gather_tx(r.chain, frame) == TxCheck::kOk && frame.bytes > kMaxPacketSize) std::abort();
  }
  engine.process_tx();
  // Whatever reached the "tap" comes back as received packets.
  static std::vector<uint8_t> packet(kMaxPacketSize + 16);
  for (int i = 0; i < 8; ++i) {
    const ssize_t got = ::recv(fds[1], packet.data(), packet.size(), 0);
    if (got < 0) break;
    if (static_cast<size_t>(got) > kMaxPacketSize) std::abort();
    ::send(fds[1], packet.data(), static_cast<size_t>(got), 0);
  }
  engine.process_rx();
  // Leave the socketpair empty for the next input.
  while (::recv(fds[0], packet.data(), packet.size(), 0) >= 0) {
  }
  while (::recv(fds[1], packet.data(), packet.size(), 0) >= 0) {
  }
  return 0;
}

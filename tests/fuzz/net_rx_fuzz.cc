// libFuzzer target for virtio-net's RX path: packets of any length and
// contents arrive on a socketpair standing in for the tap, and
// NetEngine::process_rx() copies them into receive chains of any shape
// (any addresses and sizes, readable and writable in any order), offered by
// the fake driver (tests/support/virtio_driver.h) on a real Virtqueue, which
// refuses the malformed ones as a guest's would be.
//
// Input: byte 0 bit 0 picks MRG_RXBUF; byte 1 the number of chains (1-8);
// each chain is a buffer count (0-8) and per buffer a flag byte (bit 0:
// writable), a 3-byte address and a 3-byte length; then a packet count
// (1-4) and per packet a 3-byte length (up to kMaxPacketSize); the packets'
// bytes are the rest of the input, repeated.
//
// Invariants (beyond the sanitizers):
// - every used element names a chain the driver offered, once, and its
//   length is at most that chain's writable bytes;
// - without MRG_RXBUF each packet takes one chain, so no more used elements
//   than packets read and malformed chains (returned empty, §2.7.5); the
//   counters add up: frames received and dropped never exceed the packets
//   sent, bytes received never exceed their sum;
// - the engine stops (kIdle) within a bounded number of calls.
//
// Build and run: tools/fuzz net_rx --seconds 60 (seeds in
// tests/fuzz/corpus/net_rx, written by tests/fuzz/make_seeds.py).
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <vector>

#include "base/memory/guest_memory.h"
#include "devices/virtio/net/net_engine.h"
#include "devices/virtio/net/net_frames.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/support/virtio_driver.h"

using namespace kvmm;
using kvmm::testing::Access;
using kvmm::testing::Buffer;
using kvmm::testing::DrivenQueue;
using kvmm::testing::UsedElement;

namespace {

constexpr uint64_t kMemorySize = 0x30000;  // Room for one 64 KiB packet and more.
// The rings lie above what the input addresses.
constexpr GuestAddress kRxRings{0x30000};
constexpr GuestAddress kTxRings{0x34000};
constexpr uint64_t kRegionSize = 0x40000;

// A broken promise is a bug: stop with a crash libFuzzer records.
void expect(bool condition) {
  if (!condition) __builtin_trap();
}

struct Interrupt : VirtioInterrupt {
  void signal_used() override {}
  void signal_config_change() override {}
  void signal_needs_reset() override {}
};

using Input = kvmm::fuzz::Input;

std::vector<Buffer> buffers_from(Input& in) {
  std::vector<Buffer> buffers;
  const int count = in.byte() % 9;
  for (int i = 0; i < count; ++i) {
    const bool writable = in.byte() & 1;
    const uint64_t gpa = in.number(3) % kMemorySize;
    const uint64_t length = in.number(3) % (kMemorySize - gpa + 1);
    buffers.push_back({GuestAddress{gpa}, static_cast<uint32_t>(length),
                       writable ? Access::kWritable : Access::kReadable});
  }
  // No buffers: one empty descriptor (a chain has at least one).
  if (buffers.empty()) buffers.push_back({GuestAddress{0}, 0, Access::kWritable});
  return buffers;
}

uint64_t writable_bytes(const std::vector<Buffer>& buffers) {
  uint64_t total = 0;
  for (const Buffer& buffer : buffers) {
    if (buffer.access == Access::kWritable) total += buffer.len;
  }
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuestMemory memory = [] {
    GuestMemory m;
    m.add_region(GuestAddress{0}, kRegionSize);
    return m;
  }();
  static int fds[2] = {-1, -1};
  if (fds[0] < 0) {
    expect(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    int big = 4 << 20;
    ::setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  }
  static std::vector<uint8_t> packet(kMaxPacketSize + 16);

  Input in{data, size};
  const bool mergeable = (in.byte() & 1) != 0;
  DrivenQueue rx(memory, kNetQueueSize, kRxRings);
  DrivenQueue tx(memory, kNetQueueSize, kTxRings);
  Interrupt interrupt;
  NetCounters counters;
  NetEngine engine(fds[0], mergeable, rx.queue, tx.queue, interrupt, counters);

  // Head -> writable bytes of the chain offered there.
  std::map<uint16_t, uint64_t> offered;
  const int chains = in.byte() % 8 + 1;
  for (int i = 0; i < chains; ++i) {
    const std::vector<Buffer> buffers = buffers_from(in);
    offered[rx.offer(buffers)] = writable_bytes(buffers);
  }
  std::vector<size_t> lengths(in.byte() % 4 + 1);
  for (size_t& length : lengths) length = in.number(3) % (kMaxPacketSize + 1);
  // The packets' bytes: the rest of the input, repeated.
  uint64_t sent_bytes = 0;
  size_t sent = 0;
  for (size_t length : lengths) {
    for (size_t i = 0; i < length; ++i) packet[i] = in.size ? in.data[i % in.size] : 0;
    if (::send(fds[1], packet.data(), length, 0) == static_cast<ssize_t>(length)) {
      ++sent;
      sent_bytes += length;
    }
  }

  int calls = 0;
  while (engine.process_rx() == NetEngine::Progress::kMore) expect(++calls < 64);

  const std::vector<UsedElement>& used = rx.used();
  std::map<uint16_t, int> returned;
  for (const UsedElement& element : used) {
    const auto it = offered.find(static_cast<uint16_t>(element.id));
    expect(it != offered.end());
    expect(++returned[it->first] == 1);
    expect(element.len <= it->second);
  }
  // Without MRG_RXBUF a packet fills one chain; a malformed chain is
  // returned empty without taking a packet.
  if (!mergeable) expect(used.size() <= sent + counters.bad_chains.load());
  expect(counters.rx_frames.load() + counters.rx_dropped.load() <= sent);
  expect(counters.rx_bytes.load() <= sent_bytes);

  // Leave the socketpair empty for the next input.
  while (::recv(fds[0], packet.data(), packet.size(), 0) >= 0) {
  }
  return 0;
}

// libFuzzer target for virtio-net's TX path: descriptor chains of any shape
// (any addresses and sizes, readable and writable in any order), offered by
// the fake driver (tests/support/virtio_driver.h) on real Virtqueues, which
// refuse the malformed ones as a guest's would be; guest-chosen bytes;
// through gather_tx() and NetEngine::process_tx() into a socketpair standing
// in for the tap. The RX side gets the same chains as receive buffers.
//
// Input: byte 0 picks MRG_RXBUF, byte 1 the number of chains (1-5); each
// chain is a buffer count (0-8) and per buffer a flag byte (bit 0:
// writable), a 3-byte address and a 3-byte length; the rest is guest memory.
//
// Build and run: tools/fuzz net_tx --seconds 60 (seeds in
// tests/fuzz/corpus/net_tx).
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "base/memory/guest_memory.h"
#include "devices/virtio/net/net_engine.h"
#include "devices/virtio/net/net_frames.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/support/virtio_driver.h"

using namespace kvmm;
using kvmm::testing::Access;
using kvmm::testing::Buffer;
using kvmm::testing::ChainSource;
using kvmm::testing::DrivenQueue;
using kvmm::testing::UsedElement;

namespace {

constexpr uint64_t kMemorySize = 0x30000;  // Room for one 64 KiB frame and more.
// The rings lie above what the input addresses: RX, TX, and ChainSource's.
constexpr GuestAddress kRxRings{0x30000};
constexpr GuestAddress kTxRings{0x34000};
constexpr uint64_t kRegionSize = 0x40000;

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
  if (buffers.empty()) buffers.push_back({GuestAddress{0}, 0, Access::kReadable});
  return buffers;
}

// Never more than a chain holds.
void check_used(DrivenQueue& queue) {
  for (const UsedElement& used : queue.used()) {
    if (used.len > kMemorySize) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuestMemory memory = [] {
    GuestMemory m;
    m.add_region(GuestAddress{0}, kRegionSize);
    return m;
  }();
  static ChainSource source(memory);
  static int fds[2] = {-1, -1};
  if (fds[0] < 0) {
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
      std::abort();
    }
    int big = 1 << 20;
    ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  }

  Input in{data, size};
  DrivenQueue rx(memory, kNetQueueSize, kRxRings);
  DrivenQueue tx(memory, kNetQueueSize, kTxRings);
  Interrupt interrupt;
  NetCounters counters;
  NetEngine engine(fds[0], (in.byte() & 1) != 0, rx.queue, tx.queue, interrupt, counters);
  std::vector<std::vector<Buffer>> chains(in.byte() % 5 + 1);
  for (std::vector<Buffer>& buffers : chains) {
    buffers = buffers_from(in);
    tx.offer(buffers);
    rx.offer(buffers);
  }
  // The rest is guest memory contents (headers, frames).
  const size_t n = in.size < kMemorySize ? in.size : kMemorySize;
  if (!memory.write(GuestAddress{0}, std::span<const uint8_t>(in.data, n))) std::abort();

  TxFrame frame;
  for (const std::vector<Buffer>& buffers : chains) {
    const Virtqueue::PopResult popped = source.pop(buffers);
    if (popped.status != Virtqueue::PopStatus::kChain) continue;
    if (gather_tx(popped.chain, frame) == TxCheck::kOk && frame.bytes > kMaxPacketSize) std::abort();
  }
  engine.process_tx();
  check_used(tx);
  // Whatever reached the "tap" comes back as received packets.
  static std::vector<uint8_t> packet(kMaxPacketSize + 16);
  for (int i = 0; i < 8; ++i) {
    const ssize_t got = ::recv(fds[1], packet.data(), packet.size(), 0);
    if (got < 0) break;
    if (static_cast<size_t>(got) > kMaxPacketSize) std::abort();
    ::send(fds[1], packet.data(), static_cast<size_t>(got), 0);
  }
  engine.process_rx();
  check_used(rx);
  // Leave the socketpair empty for the next input.
  while (::recv(fds[0], packet.data(), packet.size(), 0) >= 0) {
  }
  while (::recv(fds[1], packet.data(), packet.size(), 0) >= 0) {
  }
  return 0;
}

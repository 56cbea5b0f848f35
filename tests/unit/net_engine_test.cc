// virtio-net's data path on real queues the fake driver fills, and a socketpair as the tap.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "devices/virtio/net/net_engine.h"
#include "tests/unit/net_test_support.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {

struct Rig : NetEngineRig {
  explicit Rig(bool mergeable = true) : NetEngineRig(mergeable) {}

  // A TX chain at `gpa`: header (zeros) + `frame_bytes` of frame.
  void queue_tx(uint16_t head, uint64_t gpa, size_t frame_bytes) {
    std::vector<uint8_t> bytes(12 + frame_bytes, static_cast<uint8_t>(head));
    std::fill(bytes.begin(), bytes.begin() + 12, 0);
    REQUIRE(memory.write(GuestAddress{gpa}, bytes));
    tx.push(head, {{gpa, bytes.size()}}, {});
  }
  // What the host end of the tap received, one string per packet.
  std::vector<std::string> host_received() {
    std::vector<std::string> packets;
    std::vector<char> buffer(70000);
    for (;;) {
      const ssize_t n = ::recv(tap.host.get(), buffer.data(), buffer.size(), 0);
      if (n < 0) return packets;
      packets.emplace_back(buffer.data(), static_cast<size_t>(n));
    }
  }
  void host_send(size_t bytes, char fill) {
    std::string packet(bytes, fill);
    REQUIRE(::send(tap.host.get(), packet.data(), packet.size(), 0) == static_cast<ssize_t>(bytes));
  }
};

}  // namespace

TEST_CASE("net engine: TX frames go to the tap and return used with length 0") {
  Rig rig;
  rig.queue_tx(5, 0x1000, 60);
  rig.queue_tx(6, 0x2000, 1500);
  CHECK(rig.engine.process_tx() == NetEngine::Progress::kIdle);
  const auto packets = rig.host_received();
  REQUIRE(packets.size() == 2);
  CHECK(packets[0].size() == 72);
  CHECK(packets[1].size() == 1512);
  CHECK(packets[1][12] == 6);
  CHECK(rig.tx.used_pairs() == std::vector<std::pair<uint16_t, uint32_t>>{{5, 0}, {6, 0}});
  CHECK(rig.interrupt.used == 1);  // One notification for the batch.
  CHECK(rig.counters.tx_frames == 2);
  CHECK(rig.counters.tx_bytes == 1560);
}

TEST_CASE("net engine: malformed TX chains are dropped and counted and the next frame still goes") {
  Rig rig;
  rig.tx.push(1, {{0x1000, 4}}, {});                    // No header.
  rig.tx.push(2, {{0x10000, kMaxPacketSize + 1}}, {});  // Too large.
  rig.tx.push(3, {{0x1000, 40}}, {{0x2000, 40}});       // Writable.
  rig.tx.push_bad_chain(4);                             // Queue refused.
  rig.queue_tx(5, 0x3000, 60);
  rig.engine.process_tx();
  CHECK(rig.host_received().size() == 1);
  CHECK(rig.tx.used_pairs() ==
        std::vector<std::pair<uint16_t, uint32_t>>{{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}});
  CHECK(rig.counters.tx_dropped == 4);
  CHECK(rig.counters.bad_chains == 1);
  CHECK(rig.counters.tx_frames == 1);
  CHECK_FALSE(rig.engine.broken());
}

TEST_CASE("net engine: a full tap keeps the TX chain until it is writable and loses nothing") {
  Rig rig;
  int small = 4096;
  REQUIRE(::setsockopt(rig.tap.device.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
  for (uint16_t head = 0; head < 40; ++head) rig.queue_tx(head, 0x1000 + head * 0x1000u, 1500);
  rig.engine.process_tx();
  REQUIRE(rig.engine.wants_tap_writable());
  const size_t first = rig.tx.used_pairs().size();
  CHECK(first < 40);
  size_t received = 0;
  for (int round = 0; round < 100 && rig.tx.used_pairs().size() < 40; ++round) {
    received += rig.host_received().size();
    rig.engine.process_tx();
  }
  received += rig.host_received().size();
  CHECK(received == 40);
  CHECK(rig.tx.used_pairs().size() == 40);
  CHECK(rig.counters.tx_dropped == 0);
  CHECK_FALSE(rig.engine.wants_tap_writable());
}

TEST_CASE("net engine: RX waits for buffers without reading the tap further or dropping") {
  Rig rig;
  rig.host_send(12 + 100, 'a');
  rig.host_send(12 + 200, 'b');
  rig.engine.process_rx();
  CHECK_FALSE(rig.engine.wants_tap_readable());
  CHECK(rig.rx.used_pairs().empty());
  CHECK(rig.counters.rx_dropped == 0);

  rig.rx.push(1, {}, {{0x1000, 1526}});
  rig.engine.process_rx();  // The RX notify.
  CHECK(rig.rx.used_pairs() == std::vector<std::pair<uint16_t, uint32_t>>{{1, 112}});
  CHECK_FALSE(rig.engine.wants_tap_readable());  // The second packet waits now.

  rig.rx.push(2, {}, {{0x2000, 1526}});
  rig.engine.process_rx();
  CHECK(rig.rx.used_pairs().back() == std::pair<uint16_t, uint32_t>{2, 212});
  CHECK(rig.engine.wants_tap_readable());
  CHECK(rig.counters.rx_frames == 2);
  CHECK(rig.counters.rx_bytes == 300);
  CHECK(rig.counters.rx_dropped == 0);
  CHECK(rig.interrupt.used == 2);
}

TEST_CASE("net engine: a merged RX packet returns all its chains together") {
  Rig rig;
  rig.host_send(12 + 3000, 'm');
  for (uint16_t head = 0; head < 4; ++head) {
    rig.rx.push(head, {}, {{0x1000 + head * 0x1000u, 1024}});
  }
  rig.engine.process_rx();
  CHECK(rig.rx.used_pairs() ==
        std::vector<std::pair<uint16_t, uint32_t>>{{0, 1024}, {1, 1024}, {2, 964}});
  uint8_t num_buffers[2];
  REQUIRE(rig.memory.read(GuestAddress{0x1000 + 10}, num_buffers));
  CHECK(num_buffers[0] == 3);
  CHECK(num_buffers[1] == 0);
  CHECK(rig.counters.rx_frames == 1);
}

TEST_CASE("net engine: a merged RX packet short of buffers resumes when more arrive") {
  Rig rig;
  rig.host_send(12 + 3000, 'm');
  rig.rx.push(0, {}, {{0x1000, 1024}});
  rig.engine.process_rx();
  CHECK(rig.rx.used_pairs().empty());  // Nothing is published half-done.
  CHECK_FALSE(rig.engine.wants_tap_readable());
  rig.rx.push(1, {}, {{0x2000, 4096}});
  rig.engine.process_rx();
  CHECK(rig.rx.used_pairs() == std::vector<std::pair<uint16_t, uint32_t>>{{0, 1024}, {1, 1988}});
}

TEST_CASE("net engine: bad RX chains are returned empty and counted") {
  Rig rig;
  rig.host_send(12 + 100, 'x');
  rig.rx.push_bad_chain(9);
  rig.rx.push(1, {}, {{0x1000, 1526}});
  rig.engine.process_rx();
  CHECK(rig.rx.used_pairs() == std::vector<std::pair<uint16_t, uint32_t>>{{9, 0}, {1, 112}});
  CHECK(rig.counters.bad_chains == 1);
  CHECK(rig.counters.rx_frames == 1);
}

TEST_CASE("net engine: a runt from the tap is dropped") {
  Rig rig;
  rig.host_send(5, 'r');
  rig.rx.push(1, {}, {{0x1000, 1526}});
  rig.engine.process_rx();
  CHECK(rig.counters.rx_dropped == 1);
  CHECK(rig.rx.used_pairs().empty());
}

TEST_CASE("net engine: a broken queue signals DEVICE_NEEDS_RESET and stops") {
  Rig rig;
  rig.host_send(12 + 100, 'x');
  rig.rx.break_ring();
  rig.engine.process_rx();
  CHECK(rig.engine.broken());
  CHECK(rig.interrupt.needs_reset == 1);
  CHECK_FALSE(rig.engine.wants_tap_readable());
  rig.queue_tx(1, 0x1000, 60);
  rig.engine.process_tx();
  CHECK(rig.tx.used_pairs().empty());
}

TEST_CASE("net engine: a used ring outside memory breaks the device") {
  Rig rig;
  rig.tx.lose_used_ring();
  rig.queue_tx(1, 0x1000, 60);
  rig.engine.process_tx();
  CHECK(rig.engine.broken());
  CHECK(rig.interrupt.needs_reset == 1);
}

TEST_CASE("net engine: TX yields after a batch so RX is not starved") {
  Rig rig;
  for (uint16_t head = 0; head < 100; ++head) rig.queue_tx(head, 0x1000, 60);
  CHECK(rig.engine.process_tx() == NetEngine::Progress::kMore);
  rig.host_received();
  CHECK(rig.engine.process_tx() == NetEngine::Progress::kIdle);
  CHECK(rig.tx.used_pairs().size() == 100);
}

TEST_CASE("net counters: the summary names every counter") {
  NetCounters counters;
  counters.tx_frames = 2;
  counters.rx_dropped = 1;
  CHECK(counters.summary() ==
        "tx 2 frames (0 bytes, 0 dropped), rx 0 frames (0 bytes, 1 dropped), 0 bad chains");
}

// virtio-net's frame logic on descriptor chains (no queue, no tap).
#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>

#include "devices/virtio/net/net_frames.h"
#include "tests/unit/net_test_support.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {

std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(seed + i * 7);
  return bytes;
}

void put(const GuestMemory& memory, uint64_t gpa, const std::vector<uint8_t>& bytes) {
  REQUIRE(memory.write(GuestAddress{gpa}, bytes));
}

std::vector<uint8_t> get(const GuestMemory& memory, uint64_t gpa, size_t size) {
  std::vector<uint8_t> bytes(size);
  REQUIRE(memory.read(GuestAddress{gpa}, bytes));
  return bytes;
}

// The bytes writev() would send.
std::vector<uint8_t> flatten(const TxFrame& frame) {
  std::vector<uint8_t> bytes;
  for (const iovec& v : frame.iov) {
    const auto* p = static_cast<const uint8_t*>(v.iov_base);
    bytes.insert(bytes.end(), p, p + v.iov_len);
  }
  return bytes;
}

// Loads `packet` as if the tap had read it.
void load(RxPacket& rx, const std::vector<uint8_t>& packet) {
  std::memcpy(rx.buffer().data(), packet.data(), packet.size());
  rx.loaded(packet.size());
}

}  // namespace

TEST_CASE("net TX: header and frame split across buffers become one writev") {
  const GuestMemory memory = net_memory();
  const auto packet = pattern(12 + 100, 1);
  // 5 header bytes, then 7 header bytes + 20 frame bytes, then the rest.
  put(memory, 0x1000, {packet.begin(), packet.begin() + 5});
  put(memory, 0x2000, {packet.begin() + 5, packet.begin() + 32});
  put(memory, 0x3000, {packet.begin() + 32, packet.end()});
  TxFrame frame;
  const auto chain = make_chain(memory, 3, {{0x1000, 5}, {0x2000, 27}, {0x3000, 80}}, {});
  REQUIRE(gather_tx(chain, frame) == TxCheck::kOk);
  CHECK(frame.bytes == packet.size());
  CHECK(flatten(frame) == packet);
  // The header goes out of the host copy, not guest memory.
  CHECK(frame.iov[0].iov_base == frame.header.data());
  CHECK(frame.iov[0].iov_len == 12);
}

TEST_CASE("net TX: a chain holding only the header sends an empty frame") {
  const GuestMemory memory = net_memory();
  TxFrame frame;
  REQUIRE(gather_tx(make_chain(memory, 0, {{0x1000, 12}}, {}), frame) == TxCheck::kOk);
  CHECK(frame.iov.size() == 1);
}

TEST_CASE("net TX: shorter than the header is refused") {
  const GuestMemory memory = net_memory();
  TxFrame frame;
  CHECK(gather_tx(make_chain(memory, 0, {{0x1000, 11}}, {}), frame) == TxCheck::kNoHeader);
  CHECK(gather_tx(make_chain(memory, 0, {}, {}), frame) == TxCheck::kNoHeader);
}

TEST_CASE("net TX: frames up to 64 KiB plus an Ethernet header pass and larger ones are refused") {
  const GuestMemory memory = net_memory();
  TxFrame frame;
  CHECK(gather_tx(make_chain(memory, 0, {{0x10000, kMaxPacketSize}}, {}), frame) == TxCheck::kOk);
  CHECK(gather_tx(make_chain(memory, 0, {{0x10000, kMaxPacketSize + 1}}, {}), frame) ==
        TxCheck::kTooLarge);
  CHECK(frame.iov.empty());
}

TEST_CASE("net TX: a chain with device-writable buffers is refused") {
  const GuestMemory memory = net_memory();
  TxFrame frame;
  CHECK(gather_tx(make_chain(memory, 0, {{0x1000, 100}}, {{0x2000, 10}}), frame) ==
        TxCheck::kWritableBuffers);
}

TEST_CASE("net RX: a packet fits one chain and num_buffers is 1 whatever the tap left there") {
  const GuestMemory memory = net_memory();
  RxPacket rx(false);
  auto packet = pattern(12 + 1500, 3);
  packet[10] = 0xaa;  // The tap does not write num_buffers.
  packet[11] = 0xbb;
  load(rx, packet);
  REQUIRE(rx.fill(make_chain(memory, 7, {}, {{0x1000, 4000}})) == RxPacket::Fill::kDone);
  REQUIRE(rx.used().size() == 1);
  CHECK(rx.used()[0].head == 7);
  CHECK(rx.used()[0].written == packet.size());
  auto expected = packet;
  expected[10] = 1;
  expected[11] = 0;
  CHECK(get(memory, 0x1000, packet.size()) == expected);
}

TEST_CASE("net RX: without MRG_RXBUF a chain too small for the packet drops it") {
  const GuestMemory memory = net_memory();
  RxPacket rx(false);
  load(rx, pattern(12 + 1500, 3));
  REQUIRE(rx.fill(make_chain(memory, 4, {}, {{0x1000, 1000}})) == RxPacket::Fill::kDropped);
  REQUIRE(rx.used().size() == 1);
  CHECK(rx.used()[0].head == 4);
  CHECK(rx.used()[0].written == 0);
}

TEST_CASE("net RX: with MRG_RXBUF a packet spans chains and num_buffers counts them") {
  const GuestMemory memory = net_memory();
  RxPacket rx(true);
  const auto packet = pattern(12 + 2488, 9);
  load(rx, packet);
  // The first chain splits the header itself (num_buffers straddles two
  // buffers: bytes 10 and 11 land in different ones).
  CHECK(rx.fill(make_chain(memory, 1, {}, {{0x1000, 11}, {0x1100, 989}})) ==
        RxPacket::Fill::kNeedMore);
  CHECK(rx.fill(make_chain(memory, 2, {}, {{0x2000, 1000}})) == RxPacket::Fill::kNeedMore);
  CHECK(rx.fill(make_chain(memory, 3, {}, {{0x3000, 1000}})) == RxPacket::Fill::kDone);
  REQUIRE(rx.used().size() == 3);
  CHECK(rx.used()[0].written == 1000);
  CHECK(rx.used()[1].written == 1000);
  CHECK(rx.used()[2].written == 500);
  CHECK(get(memory, 0x1000 + 10, 1) == std::vector<uint8_t>{3});
  CHECK(get(memory, 0x1100, 1) == std::vector<uint8_t>{0});
  CHECK(get(memory, 0x1000, 10) == std::vector<uint8_t>(packet.begin(), packet.begin() + 10));
  CHECK(get(memory, 0x1101, 988) ==
        std::vector<uint8_t>(packet.begin() + 12, packet.begin() + 1000));
  CHECK(get(memory, 0x2000, 1000) ==
        std::vector<uint8_t>(packet.begin() + 1000, packet.begin() + 2000));
  CHECK(get(memory, 0x3000, 500) == std::vector<uint8_t>(packet.begin() + 2000, packet.end()));
}

TEST_CASE("net RX: with MRG_RXBUF a packet that fits one chain has num_buffers 1") {
  const GuestMemory memory = net_memory();
  RxPacket rx(true);
  load(rx, pattern(12 + 60, 5));
  REQUIRE(rx.fill(make_chain(memory, 1, {}, {{0x1000, 1500}})) == RxPacket::Fill::kDone);
  CHECK(get(memory, 0x1000 + 10, 2) == std::vector<uint8_t>{1, 0});
  CHECK(rx.used()[0].written == 72);
}

TEST_CASE("net RX: a first merged buffer smaller than the header drops the packet") {
  const GuestMemory memory = net_memory();
  RxPacket rx(true);
  load(rx, pattern(12 + 60, 5));
  CHECK(rx.fill(make_chain(memory, 1, {}, {{0x1000, 11}})) == RxPacket::Fill::kDropped);
}

TEST_CASE("net RX: a chain with device-readable buffers drops the packet and returns the chains held") {
  const GuestMemory memory = net_memory();
  RxPacket rx(true);
  load(rx, pattern(12 + 3000, 5));
  CHECK(rx.fill(make_chain(memory, 1, {}, {{0x1000, 1000}})) == RxPacket::Fill::kNeedMore);
  CHECK(rx.fill(make_chain(memory, 2, {{0x2000, 10}}, {{0x3000, 1000}})) ==
        RxPacket::Fill::kDropped);
  REQUIRE(rx.used().size() == 2);
  CHECK(rx.used()[0].written == 0);
  CHECK(rx.used()[1].written == 0);
  CHECK(rx.used()[1].head == 2);
}

TEST_CASE("net RX: tiny merged buffers stop at a queue's worth of chains") {
  const GuestMemory memory = net_memory();
  RxPacket rx(true);
  load(rx, pattern(12 + 60000, 5));
  RxPacket::Fill fill = rx.fill(make_chain(memory, 0, {}, {{0x1000, 12}}));
  uint16_t head = 1;
  while (fill == RxPacket::Fill::kNeedMore) {
    fill = rx.fill(make_chain(memory, head, {}, {{0x2000u + head, 1}}));
    ++head;
  }
  CHECK(fill == RxPacket::Fill::kDropped);
  CHECK(rx.used().size() == kNetQueueSize);
  CHECK(std::all_of(rx.used().begin(), rx.used().end(), [](auto u) { return u.written == 0; }));
}

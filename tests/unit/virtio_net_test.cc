// The virtio-net device as the transport sees it: features, config space,
// and its I/O thread moving frames between real queues that the fake driver
// (tests/support/virtio_driver.h) fills and a socketpair standing in for the tap.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>
#include <tuple>
#include <vector>

#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/virtqueue.h"
#include "tests/unit/net_test_support.h"
#include "tests/unit/virtio/bounded_task.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {

class SocketBackend : public NetBackend {
 public:
  explicit SocketBackend(int fd) : fd_(fd) {}
  int fd() const override { return fd_; }
  void set_guest_features(uint64_t features) override { accepted = features; }
  std::string describe() const override { return "socket"; }
  uint64_t accepted = 0;

 private:
  int fd_;
};

struct AtomicInterrupt : VirtioInterrupt {
  std::atomic<int> used{0};
  std::atomic<int> needs_reset{0};
  void signal_used() override { ++used; }
  void signal_config_change() override {}
  void signal_needs_reset() override { ++needs_reset; }
};

// A real queue the fake driver fills (EVENT_IDX on), and the notify
// eventfd the driver kicks.
struct DriverQueue : DrivenQueue {
  EventFd notify;

  DriverQueue(const GuestMemory& memory, uint64_t rings)
      : DrivenQueue(memory, 16, GuestAddress{rings}, true, true) {}

  // Publishes a chain of (gpa, len, writable) buffers and notifies.
  uint16_t add(const std::vector<std::tuple<uint64_t, uint32_t, bool>>& buffers) {
    std::vector<Buffer> chain;
    for (const auto& [gpa, len, writable] : buffers) {
      chain.push_back({GuestAddress{gpa}, len, writable ? Access::kWritable : Access::kReadable});
    }
    const uint16_t head = offer(chain);
    notify.signal();
    return head;
  }

  uint16_t used_idx() const { return driver.used_idx(); }
  std::pair<uint32_t, uint32_t> used_elem(uint16_t i) {
    const UsedElement& element = used().at(i);
    return {element.id, element.len};
  }
  // Waits (bounded, not timed: a hang fails after 10 s) for `count` used.
  bool wait_used(uint16_t count) const {
    for (int i = 0; i < 1000 && used_idx() < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return used_idx() >= count;
  }
};

struct Device {
  GuestMemory memory = net_memory();
  FakeTap tap;
  SocketBackend* backend;
  VirtioNet net;
  DriverQueue rx{memory, 0x10000};
  DriverQueue tx{memory, 0x20000};
  std::shared_ptr<AtomicInterrupt> interrupt = std::make_shared<AtomicInterrupt>();

  explicit Device(NetOffloads offloads = NetOffloads::kOn)
      : backend(new SocketBackend(tap.device.get())),
        net(std::unique_ptr<NetBackend>(backend), {{0x52, 0x54, 0, 1, 2, 3}, offloads, 7}) {}
  // The I/O thread goes before the queues and notify eventfds declared
  // after the device, which it would otherwise still be using.
  ~Device() { net.reset(); }

  void activate(uint64_t features) {
    VirtioActivation activation;
    activation.memory = &memory;
    activation.features = features;
    activation.queues = {{&rx.queue, rx.notify.get()}, {&tx.queue, tx.notify.get()}};
    activation.interrupt = interrupt;
    net.activate(std::move(activation));
  }

  std::string host_receive() {
    pollfd p{tap.host.get(), POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return "nothing";
    std::string packet(70000, '\0');
    const ssize_t n = ::recv(tap.host.get(), packet.data(), packet.size(), 0);
    packet.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return packet;
  }
};

}  // namespace

TEST_CASE("virtio-net device: id, queues and features, with and without offloads") {
  Device on;
  CHECK(on.net.device_id() == 1);
  CHECK(on.net.queue_max_sizes() == std::vector<uint16_t>{256, 256});
  const uint64_t f = on.net.device_features();
  for (uint64_t bit : {kVirtioFVersion1, kVirtioFRingEventIdx, kVirtioFRingIndirectDesc,
                       kVirtioNetFMac, kVirtioNetFStatus, kVirtioNetFMrgRxbuf, kVirtioNetFCsum,
                       kVirtioNetFGuestCsum, kVirtioNetFHostTso4, kVirtioNetFHostTso6,
                       kVirtioNetFGuestTso4, kVirtioNetFGuestTso6}) {
    CHECK((f & bit) == bit);
  }
  Device off(NetOffloads::kOff);
  CHECK((off.net.device_features() & kVirtioNetOffloadFeatures) == 0);
  CHECK((off.net.device_features() & kVirtioNetFMrgRxbuf) != 0);
}

TEST_CASE("virtio-net with vhost: the device offers only the ring features vhost has") {
  const uint64_t ours = kVirtioFVersion1 | kVirtioFRingEventIdx | kVirtioFRingIndirectDesc |
                        kVirtioNetFMac | kVirtioNetFMrgRxbuf | kVirtioNetOffloadFeatures;
  // A vhost with everything: nothing is taken away.
  CHECK(vhost_device_features(ours, ~0ull) == ours);
  // One without EVENT_IDX and MRG_RXBUF: those go; the net offloads are the
  // tap's business and stay, as do bits vhost never reports (MAC).
  const uint64_t vhost = kVirtioFVersion1 | kVirtioFRingIndirectDesc;
  CHECK(vhost_device_features(ours, vhost) ==
        (ours & ~(kVirtioFRingEventIdx | kVirtioNetFMrgRxbuf)));
  // Nothing is ever added.
  CHECK(vhost_device_features(kVirtioFVersion1, ~0ull) == kVirtioFVersion1);
}

TEST_CASE("virtio-net device: config space holds the MAC, link up and one queue pair") {
  Device d;
  std::vector<uint8_t> config(16, 0xff);
  std::fill(config.begin(), config.end(), 0);
  d.net.read_config(0, config);
  CHECK(std::vector<uint8_t>(config.begin(), config.begin() + 10) ==
        std::vector<uint8_t>{0x52, 0x54, 0, 1, 2, 3, 1, 0, 1, 0});
  std::vector<uint8_t> status(2, 0);
  d.net.read_config(6, status);
  CHECK(status == std::vector<uint8_t>{1, 0});
  std::vector<uint8_t> beyond(4, 0);
  d.net.read_config(100, beyond);
  CHECK(beyond == std::vector<uint8_t>(4, 0));
}

TEST_CASE("virtio-net device: its I/O thread sends queued frames and fills RX buffers",
          "[threads]") {
  Device d;
  d.activate(d.net.device_features());
  CHECK(d.backend->accepted == d.net.device_features());

  // TX: header (12 zero bytes) + a 60-byte frame, in two buffers.
  std::vector<uint8_t> frame(60, 0x5a);
  REQUIRE(d.memory.write(GuestAddress{0x30000}, std::vector<uint8_t>(12, 0)));
  REQUIRE(d.memory.write(GuestAddress{0x31000}, frame));
  d.tx.add({{0x30000, 12, false}, {0x31000, 60, false}});
  const std::string sent = d.host_receive();
  CHECK(sent.size() == 72);
  CHECK(sent.substr(12) == std::string(60, 0x5a));
  REQUIRE(d.tx.wait_used(1));
  CHECK(d.tx.used_elem(0) == std::pair<uint32_t, uint32_t>{0, 0});

  // RX: a packet from the tap lands in a writable buffer, num_buffers 1.
  d.rx.add({{0x40000, 2048, true}});
  std::string packet(12 + 100, 'p');
  REQUIRE(::send(d.tap.host.get(), packet.data(), packet.size(), 0) == 112);
  REQUIRE(d.rx.wait_used(1));
  CHECK(d.rx.used_elem(0) == std::pair<uint32_t, uint32_t>{0, 112});
  CHECK(*d.memory.read_obj<uint16_t>(GuestAddress{0x40000 + 10}) == 1);
  CHECK(*d.memory.read_obj<uint8_t>(GuestAddress{0x40000 + 12}) == 'p');
  CHECK(d.interrupt->used >= 2);

  bool named = false;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    named = named || comm == "virtio-net7";
  }
  CHECK(named);
  d.net.reset();
  CHECK(d.net.counters().tx_frames == 1);
  CHECK(d.net.counters().rx_frames == 1);
  CHECK(d.net.summary() ==
        "virtio-net7 (socket): tx 1 frames (60 bytes, 0 dropped), rx 1 frames (100 bytes, 0 "
        "dropped), 0 bad chains");
}

TEST_CASE("virtio-net device: a packet waits for RX buffers and arrives once they come",
          "[threads]") {
  Device d;
  d.activate(d.net.device_features());
  std::string packet(12 + 300, 'w');
  REQUIRE(::send(d.tap.host.get(), packet.data(), packet.size(), 0) == 312);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // Let the thread see it.
  CHECK(d.rx.used_idx() == 0);
  d.rx.add({{0x40000, 1024, true}});
  REQUIRE(d.rx.wait_used(1));
  CHECK(d.rx.used_elem(0) == std::pair<uint32_t, uint32_t>{0, 312});
  CHECK(d.net.counters().rx_dropped == 0);
}

TEST_CASE("virtio-net device: a hostile TX chain is dropped and counted and the device keeps going",
          "[threads]") {
  Device d;
  d.activate(d.net.device_features());
  d.tx.add({{0x30000, 4, false}});                          // No header.
  d.tx.add({{0x30000, 100, false}, {0x31000, 10, true}});   // Writable in TX.
  d.tx.add({{0x30000, 12 + 65550 + 1, false}});             // Too large.
  REQUIRE(d.memory.write(GuestAddress{0x30000}, std::vector<uint8_t>(12, 0)));
  d.tx.add({{0x30000, 72, false}});
  CHECK(d.host_receive().size() == 72);
  REQUIRE(d.tx.wait_used(4));
  CHECK(d.net.counters().tx_dropped == 3);
  CHECK(d.net.counters().tx_frames == 1);
  CHECK(d.interrupt->needs_reset == 0);
}

TEST_CASE("virtio-net device: while paused no frame reaches guest memory or the tap", "[threads]") {
  Device d;
  d.activate(d.net.device_features());
  d.rx.add({{0x40000, 2048, true}});
  d.net.pause();

  // A frame from the host and one from the guest, both while paused.
  std::string packet(12 + 100, 'p');
  REQUIRE(::send(d.tap.host.get(), packet.data(), packet.size(), 0) == 112);
  REQUIRE(d.memory.write(GuestAddress{0x30000}, std::vector<uint8_t>(12 + 60, 0)));
  d.tx.add({{0x30000, 72, false}});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // A chance to go wrong; not measured.
  CHECK(d.rx.used_idx() == 0);
  CHECK(*d.memory.read_obj<uint8_t>(GuestAddress{0x40000 + 12}) == 0);
  CHECK(d.tx.used_idx() == 0);
  pollfd sent{d.tap.host.get(), POLLIN, 0};
  CHECK(::poll(&sent, 1, 0) == 0);

  d.net.resume();
  REQUIRE(d.rx.wait_used(1));
  CHECK(d.rx.used_elem(0) == std::pair<uint32_t, uint32_t>{0, 112});
  CHECK(*d.memory.read_obj<uint8_t>(GuestAddress{0x40000 + 12}) == 'p');
  CHECK(d.host_receive().size() == 72);
  REQUIRE(d.tx.wait_used(1));
  CHECK(d.net.counters().rx_frames == 1);
  CHECK(d.net.counters().tx_frames == 1);
}

TEST_CASE("virtio-net device: reset and destruction while paused return", "[threads]") {
  auto d = std::make_unique<Device>();
  d->activate(d->net.device_features());
  d->net.pause();
  {
    BoundedTask resetting([&] { d->net.reset(); });
    REQUIRE(resetting.wait());
  }
  // Still paused: activated again, it starts parked and moves nothing.
  d->activate(d->net.device_features());
  d->rx.add({{0x40000, 2048, true}});
  std::string packet(12 + 50, 'q');
  REQUIRE(::send(d->tap.host.get(), packet.data(), packet.size(), 0) == 62);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // A chance to go wrong; not measured.
  CHECK(d->rx.used_idx() == 0);
  d->net.resume();
  REQUIRE(d->rx.wait_used(1));

  d->net.pause();
  BoundedTask destroying([&] { d.reset(); });
  REQUIRE(destroying.wait());
}

TEST_CASE("virtio-net device: paused and resumed 50 times, each frame from the tap arrives once, in order",
          "[threads]") {
  Device d;
  d.activate(d.net.device_features());
  constexpr uint32_t kFrames = 300;
  constexpr uint64_t kBuffers = 8;  // Posted at a time, 2 KiB each from 0x40000.
  std::vector<uint32_t> received;
  std::atomic<uint32_t> count{0};

  // The guest's driver: its own thread, the only one using the RX queue's driver.
  BoundedTask driving([&] {
    std::map<uint16_t, uint64_t> posted;  // head -> buffer
    for (uint64_t i = 0; i < kBuffers; ++i) {
      const uint64_t gpa = 0x40000 + i * 0x800;
      posted[d.rx.add({{gpa, 0x800, true}})] = gpa;
    }
    const auto deadline = std::chrono::steady_clock::now() + kHangBound;
    while (count < kFrames && std::chrono::steady_clock::now() < deadline) {
      bool any = false;
      while (const std::optional<UsedElement> used = d.rx.driver.next_used()) {
        const uint64_t gpa = posted.at(static_cast<uint16_t>(used->id));
        posted.erase(static_cast<uint16_t>(used->id));
        received.push_back(*d.memory.read_obj<uint32_t>(GuestAddress{gpa + 12}));
        ++count;
        posted[d.rx.add({{gpa, 0x800, true}})] = gpa;
        any = true;
      }
      if (!any) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  // The host side of the tap: numbered frames, retried while the socket is full.
  BoundedTask sending([&] {
    const auto deadline = std::chrono::steady_clock::now() + kHangBound;
    for (uint32_t seq = 0; seq < kFrames && std::chrono::steady_clock::now() < deadline;) {
      std::vector<uint8_t> frame(12 + 64, 0);
      std::memcpy(frame.data() + 12, &seq, sizeof(seq));
      if (::send(d.tap.host.get(), frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size())) {
        ++seq;
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
  });

  for (int i = 0; i < 50 && count < kFrames; ++i) {
    d.net.pause();
    const uint16_t before = d.rx.used_idx();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    CHECK(d.rx.used_idx() == before);  // Paused: nothing lands in guest memory.
    d.net.resume();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(sending.wait());
  REQUIRE(driving.wait());
  REQUIRE(received.size() == kFrames);
  for (uint32_t seq = 0; seq < kFrames; ++seq) {
    INFO("frame " << seq);
    CHECK(received[seq] == seq);
  }
  CHECK(d.net.counters().rx_dropped == 0);
  CHECK(d.interrupt->needs_reset == 0);
}

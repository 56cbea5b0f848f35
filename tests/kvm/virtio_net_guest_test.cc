// A hostile nasm driver against kvmm's virtio-net on real KVM: kvmm must stay
// up, answer every malformed chain, count what it dropped, and put on the
// wire exactly the valid frames. The test owns a tap (attached to nothing,
// no addresses, IPv6 off) and hands it to kvmm with --net fd=N; a packet
// socket on the tap's interface sees what the guest sent and injects the
// frames the guest must receive.
#include <catch2/catch.hpp>

#include <fcntl.h>
// <net/if.h> before the kernel headers: it tells them not to redefine ifreq.
#include <net/if.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "tests/kvm/guest_runner.h"

using namespace kvmm::testing;

namespace {

constexpr uint16_t kEtherType = 0x88b5;  // IEEE local experimental: no stack parses it.
constexpr size_t kEthernetHeader = 14;
constexpr size_t kTagSize = 16;  // The guest's frames carry a 16-byte tag first.
constexpr size_t kFrameSize = 60;

// Closes an fd this test opened.
struct Fd {
  int fd = -1;
  explicit Fd(int value) : fd(value) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// A broadcast frame of kEtherType whose payload starts with `tag`.
std::vector<uint8_t> test_frame(const std::string& tag) {
  std::vector<uint8_t> frame(kFrameSize, 0);
  std::fill_n(frame.begin(), 6, 0xff);
  const uint8_t source[6] = {0x02, 0, 0, 0, 0, 0x01};  // Locally administered.
  std::copy_n(source, 6, frame.begin() + 6);
  frame[12] = kEtherType >> 8;
  frame[13] = kEtherType & 0xff;
  std::copy(tag.begin(), tag.end(), frame.begin() + kEthernetHeader);
  return frame;
}

}  // namespace

TEST_CASE("a hostile virtio-net driver cannot crash kvmm or put malformed frames on the wire") {
  if (::geteuid() != 0 || ::access("/dev/net/tun", R_OK | W_OK) != 0) {
    WARN("skipped: needs root and /dev/net/tun to create a tap");
    return;
  }
  // Not close-on-exec: kvmm inherits it (--net fd=N).
  Fd tap(::open("/dev/net/tun", O_RDWR));
  REQUIRE(tap.fd >= 0);
  ifreq request{};
  const std::string name = "kvmmh" + std::to_string(::getpid());
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(tap.fd, TUNSETIFF, &request) < 0) {
    WARN("skipped: cannot create tap " << name << ": " << std::strerror(errno));
    return;
  }
  // Nothing of the host's own may reach the guest: no IPv6 (router and
  // neighbour solicitations), no ARP. The guest skips strays anyway.
  std::ofstream("/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6") << "1\n";
  {
    Fd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(control.fd >= 0);
    ifreq flags{};
    std::memcpy(flags.ifr_name, name.data(), name.size());
    REQUIRE(::ioctl(control.fd, SIOCGIFFLAGS, &flags) == 0);
    flags.ifr_flags = static_cast<short>(flags.ifr_flags | IFF_UP | IFF_NOARP);
    REQUIRE(::ioctl(control.fd, SIOCSIFFLAGS, &flags) == 0);
  }
  const unsigned index = ::if_nametoindex(name.c_str());
  REQUIRE(index != 0);

  // Opened before kvmm starts: it queues everything that crosses the tap
  // until the test reads it after kvmm has exited.
  Fd wire(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL)));
  REQUIRE(wire.fd >= 0);
  sockaddr_ll link{};
  link.sll_family = AF_PACKET;
  link.sll_protocol = htons(ETH_P_ALL);
  link.sll_ifindex = static_cast<int>(index);
  REQUIRE(::bind(wire.fd, reinterpret_cast<sockaddr*>(&link), sizeof link) == 0);

  ProcessOptions options;
  options.timeout = std::chrono::seconds(60);
  options.action_when_output_has = "virtio-net: RX buffers posted";
  int sent = 0;
  options.action = [&](int) {
    // Two frames: the device drops the first at the guest's device-readable
    // RX buffer, the second lands in the valid one.
    for (const char* tag : {"kvmm-rx-frame-01", "kvmm-rx-frame-02"}) {
      const std::vector<uint8_t> frame = test_frame(tag);
      sockaddr_ll to = link;
      to.sll_halen = 6;
      std::fill_n(to.sll_addr, 6, 0xff);
      if (::sendto(wire.fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                   sizeof to) == static_cast<ssize_t>(frame.size())) {
        ++sent;
      }
    }
  };
  const auto run =
      run_guest("virtio_net_hostile", "long", {"--net", "fd=" + std::to_string(tap.fd)}, options);
  INFO("stdout:\n" << run.result.out << "\nstderr:\n" << run.result.err);
  CHECK(sent == 2);
  CHECK(run.result.exit_status == 0);
  CHECK(run.result.out ==
        "virtio-net: RX buffers posted\n"
        "virtio-net: the device survived every hostile request\n");
  // Every dropped chain was reported, and the log stayed bounded.
  CHECK(std::count(run.result.err.begin(), run.result.err.end(), '\n') < 40);

  // What the guest put on the wire, by tag.
  std::map<std::string, int> arrived;
  std::array<uint8_t, 70000> packet;
  for (;;) {
    sockaddr_ll from{};
    socklen_t from_size = sizeof from;
    const ssize_t n = ::recvfrom(wire.fd, packet.data(), packet.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_size);
    if (n < 0) break;
    // The test's own frames show as outgoing; the guest's come in.
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    if (static_cast<size_t>(n) < kEthernetHeader + kTagSize) continue;
    if (packet[12] != (kEtherType >> 8) || packet[13] != (kEtherType & 0xff)) continue;
    ++arrived[std::string(reinterpret_cast<const char*>(packet.data()) + kEthernetHeader,
                          kTagSize)];
  }
  std::string seen;
  for (const auto& [tag, count] : arrived) seen += tag + " x" + std::to_string(count) + "\n";
  INFO("frames from the guest:\n" << seen);
  // The three valid frames, each exactly once (the last after a reset) ...
  CHECK(arrived["kvmm-tx-valid-01"] == 1);
  CHECK(arrived["kvmm-tx-valid-02"] == 1);
  CHECK(arrived["kvmm-tx-valid-03"] == 1);
  // ... and none of the malformed ones.
  CHECK(std::none_of(arrived.begin(), arrived.end(), [](const auto& entry) {
    return entry.first.starts_with("kvmm-tx-bad") && entry.second > 0;
  }));

  // kvmm's exit summary counts them: 3 frames of 60 bytes out; 12 TX
  // chains dropped (5 malformed chains, 5 refused by the frame checks, 2
  // refused by the tap); 2 malformed RX chains; the first test frame dropped
  // at the device-readable RX buffer.
  std::smatch counters;
  const std::regex summary(
      "virtio-net0 \\([^\n]*\\): tx ([0-9]+) frames \\(([0-9]+) bytes, ([0-9]+) dropped\\), rx "
      "([0-9]+) frames \\(([0-9]+) bytes, ([0-9]+) dropped\\), ([0-9]+) bad chains");
  REQUIRE(std::regex_search(run.result.err, counters, summary));
  CHECK(std::stoul(counters[1]) == 3);
  CHECK(std::stoul(counters[2]) == 3 * kFrameSize);
  CHECK(std::stoul(counters[3]) == 12);
  CHECK(std::stoul(counters[4]) >= 1);
  CHECK(std::stoul(counters[6]) >= 1);
  CHECK(std::stoul(counters[7]) == 5 + 2);
}

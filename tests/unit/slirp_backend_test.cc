// --net user's backend (devices/virtio/net/slirp_backend.h) driven from its
// device end, with no guest: hand-made frames in, libslirp's answers out.
// Only link-local addresses (169.254.50.0/24) and the host's loopback.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/util/error.h"
#include "base/util/unique_fd.h"
#include "devices/virtio/net/slirp_backend.h"
#include "devices/virtio/net/virtio_net_spec.h"

using namespace kvmm;

namespace {

using Bytes = std::vector<uint8_t>;

constexpr Ipv4Address kNetwork = 0xa9fe3200;  // 169.254.50.0/24
constexpr Ipv4Address kHost = kNetwork + 2;
constexpr Ipv4Address kGuest = kNetwork + 15;
const Bytes kGuestMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
// libslirp's own hosts answer as 52:55 followed by their address.
const Bytes kHostMac = {0x52, 0x55, 0xa9, 0xfe, 0x32, 0x02};
// Bounds a wait for a frame; a frame that never comes fails the test.
constexpr auto kFrameWait = std::chrono::seconds(20);

UserNetOptions link_local() {
  UserNetOptions options;
  options.network = kNetwork;
  options.prefix = 24;
  options.dns = false;
  return options;
}

void put16(Bytes& b, size_t at, unsigned v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
void put32(Bytes& b, size_t at, uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v & 0xffff);
}
unsigned get16(const Bytes& b, size_t at) { return unsigned{b[at]} << 8 | b[at + 1]; }
uint32_t get32(const Bytes& b, size_t at) { return get16(b, at) << 16 | get16(b, at + 2); }

uint16_t checksum(const uint8_t* data, size_t size, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < size; i += 2) sum += unsigned{data[i]} << 8 | data[i + 1];
  if (size & 1) sum += unsigned{data[size - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

Bytes ethernet(const Bytes& destination, unsigned type, size_t payload) {
  Bytes frame(14 + payload);
  std::copy(destination.begin(), destination.end(), frame.begin());
  std::copy(kGuestMac.begin(), kGuestMac.end(), frame.begin() + 6);
  put16(frame, 12, type);
  return frame;
}

Bytes arp_request(Ipv4Address sender, Ipv4Address target) {
  Bytes f = ethernet({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0x0806, 28);
  put16(f, 14, 1);       // Ethernet
  put16(f, 16, 0x0800);  // IPv4
  f[18] = 6;
  f[19] = 4;
  put16(f, 20, 1);  // Request
  std::copy(kGuestMac.begin(), kGuestMac.end(), f.begin() + 22);
  put32(f, 28, sender);
  put32(f, 38, target);
  return f;
}

// An IPv4 packet of `protocol` from `source` to `destination` around `payload`.
Bytes ipv4(const Bytes& mac, Ipv4Address source, Ipv4Address destination, uint8_t protocol,
           const Bytes& payload) {
  Bytes f = ethernet(mac, 0x0800, 20 + payload.size());
  f[14] = 0x45;
  put16(f, 16, static_cast<unsigned>(20 + payload.size()));
  f[22] = 64;  // TTL
  f[23] = protocol;
  put32(f, 26, source);
  put32(f, 30, destination);
  put16(f, 24, checksum(&f[14], 20));
  std::copy(payload.begin(), payload.end(), f.begin() + 34);
  return f;
}

Bytes dhcp_discover() {
  // UDP 68 -> 67, no checksum (0 is allowed in IPv4), then BOOTP with room
  // for the whole 312-byte options field libslirp's struct has.
  Bytes udp(8 + 236 + 312);
  put16(udp, 0, 68);
  put16(udp, 2, 67);
  put16(udp, 4, static_cast<unsigned>(udp.size()));
  Bytes::iterator bootp = udp.begin() + 8;
  bootp[0] = 1;  // BOOTREQUEST
  bootp[1] = 1;
  bootp[2] = 6;
  put32(udp, 8 + 4, 0x4b564d4d);  // xid
  std::copy(kGuestMac.begin(), kGuestMac.end(), bootp + 28);
  const uint8_t options[] = {0x63, 0x82, 0x53, 0x63, 53, 1, 1 /* DISCOVER */, 255};
  std::copy(std::begin(options), std::end(options), bootp + 236);
  return ipv4({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, 0xffffffff, 17, udp);
}

Bytes tcp_syn(uint16_t source_port, Ipv4Address destination, uint16_t port) {
  Bytes tcp(20);
  put16(tcp, 0, source_port);
  put16(tcp, 2, port);
  put32(tcp, 4, 1000);  // Sequence number
  tcp[12] = 5 << 4;     // Header length
  tcp[13] = 0x02;       // SYN
  put16(tcp, 14, 65535);
  // The pseudo-header: addresses, protocol, length (RFC 793).
  uint32_t sum = (kGuest >> 16) + (kGuest & 0xffff) + (destination >> 16) +
                 (destination & 0xffff) + 6 + static_cast<uint32_t>(tcp.size());
  put16(tcp, 16, checksum(tcp.data(), tcp.size(), sum));
  return ipv4(kHostMac, kGuest, destination, 6, tcp);
}

void send_frame(const SlirpBackend& backend, const Bytes& frame) {
  Bytes packet(kVirtioNetHdrSize);  // No offloads: a zero header.
  packet.insert(packet.end(), frame.begin(), frame.end());
  REQUIRE(::send(backend.fd(), packet.data(), packet.size(), 0) ==
          static_cast<ssize_t>(packet.size()));
}

// The first frame from libslirp for which `wanted` holds (others are
// skipped), its virtio-net header checked and removed; nullopt if none came.
std::optional<Bytes> receive_frame(const SlirpBackend& backend,
                                   const std::function<bool(const Bytes&)>& wanted) {
  const auto deadline = std::chrono::steady_clock::now() + kFrameWait;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{backend.fd(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    Bytes packet(kMaxPacketSize);
    const ssize_t n = ::recv(backend.fd(), packet.data(), packet.size(), MSG_DONTWAIT);
    if (n < 0) continue;
    REQUIRE(static_cast<size_t>(n) >= kVirtioNetHdrSize + 14);
    // Never an offload toward the guest.
    CHECK(Bytes(packet.begin(), packet.begin() + kVirtioNetHdrSize) == Bytes(kVirtioNetHdrSize));
    Bytes frame(packet.begin() + kVirtioNetHdrSize, packet.begin() + n);
    if (wanted(frame)) return frame;
  }
  return std::nullopt;
}

bool is_arp_reply(const Bytes& f) { return get16(f, 12) == 0x0806 && get16(f, 20) == 2; }
bool is_tcp(const Bytes& f) { return get16(f, 12) == 0x0800 && f[23] == 6; }
unsigned tcp_flags(const Bytes& f) { return f[14 + (f[14] & 0xf) * 4 + 13]; }
unsigned tcp_destination_port(const Bytes& f) { return get16(f, 14 + (f[14] & 0xf) * 4 + 2); }

// A TCP listener on 127.0.0.1 at a port the kernel picks.
struct Listener {
  UniqueFd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  uint16_t port = 0;
  Listener() {
    REQUIRE(fd.valid());
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(fd.get(), 4) == 0);
    socklen_t size = sizeof(a);
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &size) == 0);
    port = ntohs(a.sin_port);
  }
};

// A port on 127.0.0.1 that was free a moment ago.
uint16_t free_port() { return Listener().port; }

std::string refusal(const UserNetOptions& options) {
  try {
    SlirpBackend backend(options, 0);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("slirp backend: libslirp answers an ARP request for the host address", "[threads]") {
  SlirpBackend backend(link_local(), 0);
  CHECK(backend.describe() == "user-mode network 169.254.50.0/24");
  send_frame(backend, arp_request(kGuest, kHost));
  const auto reply = receive_frame(backend, is_arp_reply);
  REQUIRE(reply);
  CHECK(Bytes(reply->begin(), reply->begin() + 6) == kGuestMac);
  CHECK(Bytes(reply->begin() + 22, reply->begin() + 28) == kHostMac);
  CHECK(get32(*reply, 28) == kHost);
  CHECK(get32(*reply, 38) == kGuest);
}

TEST_CASE("slirp backend: DHCP offers the network's 15th address", "[threads]") {
  SlirpBackend backend(link_local(), 0);
  send_frame(backend, dhcp_discover());
  const auto offer = receive_frame(backend, [](const Bytes& f) {
    return get16(f, 12) == 0x0800 && f[23] == 17 && get16(f, 34) == 67 && get16(f, 36) == 68;
  });
  REQUIRE(offer);
  const size_t bootp = 14 + 20 + 8;
  CHECK((*offer)[bootp] == 2);  // BOOTREPLY
  CHECK(get32(*offer, bootp + 4) == 0x4b564d4d);
  CHECK(get32(*offer, bootp + 16) == kGuest);  // yiaddr
  // The first option after the magic cookie: message type OFFER.
  CHECK((*offer)[bootp + 240] == 53);
  CHECK((*offer)[bootp + 242] == 2);
}

TEST_CASE("slirp backend: a connection to a forwarded port reaches the guest as a SYN",
          "[threads]") {
  UserNetOptions options = link_local();
  options.restricted = true;  // Forwards work in a restricted network.
  const uint16_t port = free_port();
  options.forwards.push_back({ForwardProtocol::kTcp, 0x7f000001, port, std::nullopt, 22});
  SlirpBackend backend(options, 0);
  // The guest makes itself known (libslirp learns its MAC from the request).
  send_frame(backend, arp_request(kGuest, kHost));
  REQUIRE(receive_frame(backend, is_arp_reply));

  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int r = ::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  REQUIRE((r == 0 || errno == EINPROGRESS));
  const auto syn = receive_frame(backend, [](const Bytes& f) { return is_tcp(f); });
  REQUIRE(syn);
  CHECK(Bytes(syn->begin(), syn->begin() + 6) == kGuestMac);
  CHECK(get32(*syn, 30) == kGuest);
  CHECK(tcp_destination_port(*syn) == 22);
  CHECK(tcp_flags(*syn) == 0x02);  // SYN alone
}

TEST_CASE("slirp backend: a datagram to a forwarded UDP port reaches the guest", "[threads]") {
  UserNetOptions options = link_local();
  const uint16_t port = free_port();  // A TCP port number; the UDP one is as likely free.
  options.forwards.push_back({ForwardProtocol::kUdp, 0x7f000001, port, std::nullopt, 5353});
  SlirpBackend backend(options, 0);
  send_frame(backend, arp_request(kGuest, kHost));
  REQUIRE(receive_frame(backend, is_arp_reply));

  UniqueFd client(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string payload = "through-udp-forward";
  REQUIRE(::sendto(client.get(), payload.data(), payload.size(), 0,
                   reinterpret_cast<sockaddr*>(&a), sizeof(a)) ==
          static_cast<ssize_t>(payload.size()));
  const auto datagram = receive_frame(backend, [](const Bytes& f) {
    return get16(f, 12) == 0x0800 && f[23] == 17;
  });
  REQUIRE(datagram);
  CHECK(get32(*datagram, 30) == kGuest);
  const size_t udp = 14 + ((*datagram)[14] & 0xf) * 4;
  CHECK(get16(*datagram, udp + 2) == 5353);
  CHECK(std::string(datagram->begin() + static_cast<long>(udp + 8), datagram->end()) == payload);
}

TEST_CASE("slirp backend: the guest reaches the host's loopback unless restricted", "[threads]") {
  Listener listener;
  for (const bool restricted : {false, true}) {
    INFO((restricted ? "restrict=on" : "restrict=off"));
    UserNetOptions options = link_local();
    options.restricted = restricted;
    SlirpBackend backend(options, 0);
    send_frame(backend, arp_request(kGuest, kHost));
    REQUIRE(receive_frame(backend, is_arp_reply));
    // The host address stands for the host's 127.0.0.1.
    send_frame(backend, tcp_syn(40000, kHost, listener.port));
    const auto answer = receive_frame(backend, [](const Bytes& f) { return is_tcp(f); });
    REQUIRE(answer);
    if (restricted) {
      CHECK((tcp_flags(*answer) & 0x04) != 0);  // RST: refused inside libslirp.
      CHECK(::accept(listener.fd.get(), nullptr, nullptr) < 0);
    } else {
      CHECK(tcp_flags(*answer) == 0x12);  // SYN-ACK: libslirp's socket connected.
      pollfd p{listener.fd.get(), POLLIN, 0};
      REQUIRE(::poll(&p, 1, 20000) == 1);
      UniqueFd accepted(::accept(listener.fd.get(), nullptr, nullptr));
      CHECK(accepted.valid());
    }
  }
}

TEST_CASE("slirp backend: a forwarded port in use is refused with the fix") {
  Listener busy;
  UserNetOptions options = link_local();
  options.forwards.push_back({ForwardProtocol::kTcp, 0x7f000001, busy.port, std::nullopt, 22});
  const std::string port = std::to_string(busy.port);
  CHECK(refusal(options) == "--net user,hostfwd=tcp:127.0.0.1:" + port + "-:22: port " + port +
                                " on 127.0.0.1 is in use: pick another hostfwd port");
  options.forwards[0].host_address = 0xc0000201;  // 192.0.2.1, TEST-NET-1: not this host's.
  CHECK(refusal(options).find("192.0.2.1 is not an address of this host") != std::string::npos);
}

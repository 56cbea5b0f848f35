// virtio-net TX: the guest's virtio_net_hdr reaches the host kernel claiming
// no offload the driver did not negotiate (§5.1.6.2).
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <array>
#include <string>
#include <vector>

#include "devices/virtio/net/net_engine.h"
#include "devices/virtio/net/net_frames.h"
#include "tests/unit/net_test_support.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {

using Header = std::array<uint8_t, kVirtioNetHdrSize>;

// NEEDS_CSUM | a stray bit, TCPv4 + ECN, hdr_len 54, gso_size 1448,
// csum_start 34, csum_offset 16, num_buffers 3.
constexpr Header kHostile = {0x01 | 0x02, 0x01 | 0x80, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 3, 0};

Header sanitized(Header header, uint64_t features) {
  REQUIRE(sanitize_tx_header(header, features));
  return header;
}

}  // namespace

TEST_CASE("net TX header: without offloads every GSO and checksum field is zeroed") {
  CHECK(sanitized(kHostile, 0) == Header{});
  // Offloads the guest did not accept for transmit do not count either.
  CHECK(sanitized(kHostile, kVirtioNetFGuestCsum | kVirtioNetFGuestTso4 | kVirtioNetFMrgRxbuf) ==
        Header{});
}

TEST_CASE("net TX header: negotiated offloads pass, the rest is trimmed") {
  const uint64_t all = kVirtioNetFCsum | kVirtioNetFHostTso4 | kVirtioNetFHostTso6 |
                       kVirtioNetFHostEcn;
  // Only NEEDS_CSUM is a driver's flag; num_buffers is always 0 on TX.
  CHECK(sanitized(kHostile, all) == Header{0x01, 0x81, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0});
  // TCPv4 without HOST_ECN: the ECN segment is not the host's to make.
  CHECK(sanitized(kHostile, kVirtioNetFCsum | kVirtioNetFHostTso4) ==
        Header{0x01, 0, 0, 0, 0, 0, 34, 0, 16, 0, 0, 0});
  // Checksum without CSUM: flags and checksum fields go.
  Header tso4 = kHostile;
  tso4[1] = kVirtioNetHdrGsoTcpv4;
  CHECK(sanitized(tso4, kVirtioNetFHostTso4) == Header{0, 0x01, 54, 0, 0xa8, 0x05, 0, 0, 0, 0, 0, 0});
  // TCPv6 needs HOST_TSO6, not HOST_TSO4; UDP (3) is never offered.
  Header tso6 = kHostile;
  tso6[1] = kVirtioNetHdrGsoTcpv6;
  CHECK(sanitized(tso6, kVirtioNetFCsum | kVirtioNetFHostTso4)[1] == kVirtioNetHdrGsoNone);
  CHECK(sanitized(tso6, kVirtioNetFCsum | kVirtioNetFHostTso6)[1] == kVirtioNetHdrGsoTcpv6);
  Header udp = kHostile;
  udp[1] = 3;
  CHECK(sanitized(udp, all)[1] == kVirtioNetHdrGsoNone);
}

TEST_CASE("net TX header: a GSO type virtio does not define is refused, not trimmed") {
  for (uint8_t type : {uint8_t{2}, uint8_t{5}, uint8_t{0x55}, uint8_t{0x85}, uint8_t{0x7f}}) {
    Header header = kHostile;
    header[1] = type;
    const Header before = header;
    CHECK_FALSE(sanitize_tx_header(header, kVirtioNetFCsum | kVirtioNetFHostTso4));
    CHECK(header == before);
  }
}

TEST_CASE("net engine: a hostile TX header reaches the tap zeroed when no offload was negotiated") {
  NetEngineRig rig(true, kVirtioFVersion1);

  std::vector<uint8_t> bytes(kHostile.begin(), kHostile.end());
  bytes.resize(kVirtioNetHdrSize + 60, 0xee);
  REQUIRE(rig.memory.write(GuestAddress{0x1000}, bytes));
  rig.tx.push(1, {{0x1000, bytes.size()}}, {});
  rig.engine.process_tx();

  std::vector<char> buffer(70000);
  const ssize_t n = ::recv(rig.tap.host.get(), buffer.data(), buffer.size(), 0);
  REQUIRE(n == static_cast<ssize_t>(bytes.size()));
  CHECK(std::string(buffer.data(), kVirtioNetHdrSize) == std::string(kVirtioNetHdrSize, '\0'));
  CHECK(static_cast<uint8_t>(buffer[kVirtioNetHdrSize]) == 0xee);  // The frame is untouched.
  // The guest's copy is the guest's: not written back.
  CHECK(rig.memory.read_obj<uint8_t>(GuestAddress{0x1000}) == kHostile[0]);
}

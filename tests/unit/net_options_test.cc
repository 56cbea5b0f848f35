// --net parsing (app/cli) and MAC addresses (devices).
#include "app/cli/device_options.h"

#include <catch2/catch.hpp>

#include "base/util/error.h"
#include "tests/unit/net_option_refusal.h"

using namespace kvmm;

namespace {

using testing::net_option_refusal;

}  // namespace

TEST_CASE("net options: tap=NAME with a MAC") {
  const NetOptions o = parse_net_options("tap=kvmm-tap0,mac=52:54:00:AB:cd:01", 0);
  CHECK(o.tap == "kvmm-tap0");
  CHECK(o.fd == -1);
  CHECK(o.mac == MacAddress{0x52, 0x54, 0x00, 0xab, 0xcd, 0x01});
  CHECK(o.offloads == NetOffloads::kOn);
}

TEST_CASE("net options: vlan= is refused with the host-side setup that does it") {
  // It was once parsed and then ignored: the guest's frames went untagged
  // into whatever VLAN the tap's bridge port was in.
  CHECK(net_option_refusal("tap=kvmm-tap0,vlan=20") ==
        "--net tap=kvmm-tap0,vlan=20: kvmm does not set VLANs: drop vlan= and put the tap in "
        "the VLAN on the host: sudo tools/kvmm-net tap kvmm-tap0 --vlan 20 (docs/networking.md)");
  CHECK(net_option_refusal("vlan=5,fd=3").find("kvmm does not set VLANs: drop vlan= and put the tap in the "
                                    "VLAN on the host: sudo tools/kvmm-net tap NAME --vlan 5") !=
        std::string::npos);
}

TEST_CASE("net options: fd=N with offloads off") {
  const NetOptions o = parse_net_options("fd=7,offload=off", 1);
  CHECK(o.tap.empty());
  CHECK(o.fd == 7);
  CHECK(o.offloads == NetOffloads::kOff);
}

TEST_CASE("net options: vhost=on asks for the kernel data path and is off unless given") {
  CHECK(parse_net_options("tap=a,vhost=on", 0).vhost);
  CHECK_FALSE(parse_net_options("tap=a,vhost=off", 0).vhost);
  CHECK_FALSE(parse_net_options("tap=a", 0).vhost);
  CHECK(parse_net_options("fd=3,vhost=on", 0).vhost);
  CHECK(net_option_refusal("tap=a,vhost=yes") == "--net tap=a,vhost=yes: vhost=yes is not on or off");
}

TEST_CASE("net options: default MACs are locally administered unicast and differ per device") {
  const NetOptions a = parse_net_options("tap=a", 0);
  const NetOptions b = parse_net_options("tap=b", 1);
  CHECK(a.mac[0] == 0x52);
  CHECK((a.mac[0] & 1) == 0);  // Unicast.
  CHECK((a.mac[0] & 2) == 2);  // Locally administered.
  CHECK(a.mac != b.mac);
  CHECK(default_mac(0, 1) != default_mac(0, 2));
}

TEST_CASE("net options: refusals name the field") {
  CHECK(net_option_refusal("") == "--net : '' needs a value (KEY=VALUE): use --net tap=NAME[,mac=MAC]"
                       "[,offload=on|off][,vhost=on|off], --net fd=N[,mac=MAC][,offload=on|off]"
                       "[,vhost=on|off] or --net user[,mac=MAC][,net=ADDR/PREFIX]"
                       "[,restrict=on|off][,dns=on|off][,hostfwd=...]");
  CHECK(net_option_refusal("mac=52:54:00:00:00:01").find("needs tap=NAME or fd=N") != std::string::npos);
  CHECK(net_option_refusal("tap=a,fd=3").find("give one of tap= or fd=, once") != std::string::npos);
  CHECK(net_option_refusal("tap=a,tap=b").find("give one of tap= or fd=, once") != std::string::npos);
  CHECK(net_option_refusal("tap=this-name-is-too-long").find("tap=this-name-is-too-long is not an interface name") !=
        std::string::npos);
  CHECK(net_option_refusal("tap=a/b").find("is not an interface name") != std::string::npos);
  CHECK(net_option_refusal("tap=..").find("is not an interface name") != std::string::npos);
  CHECK(net_option_refusal("fd=x").find("fd=x is not a file descriptor number") != std::string::npos);
  CHECK(net_option_refusal("fd=-1").find("fd=-1 is not a file descriptor number") != std::string::npos);
  CHECK(net_option_refusal("tap=a,mac=52:54:00:00:00").find("mac=52:54:00:00:00 is not a MAC address") !=
        std::string::npos);
  CHECK(net_option_refusal("tap=a,mac=01:00:5e:00:00:01").find("is a multicast address") != std::string::npos);
  CHECK(net_option_refusal("tap=a,mac=00:00:00:00:00:00").find("is all zeros") != std::string::npos);
  CHECK(net_option_refusal("tap=a,offload=maybe").find("offload=maybe is not on or off") != std::string::npos);
  CHECK(net_option_refusal("tap=a,queues=4").find("unknown field 'queues'") != std::string::npos);
  CHECK(net_option_refusal("tap=a,mac").find("'mac' needs a value") != std::string::npos);
}

TEST_CASE("net options: MAC addresses parse only as six two-digit hex bytes") {
  CHECK(parse_mac("52:54:00:12:34:56") == MacAddress{0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
  CHECK(parse_mac("FF:ff:00:00:00:0a") == MacAddress{0xff, 0xff, 0, 0, 0, 0x0a});
  CHECK_FALSE(parse_mac("52:54:00:12:34"));
  CHECK_FALSE(parse_mac("52:54:00:12:34:56:78"));
  CHECK_FALSE(parse_mac("52:54:00:12:34:5"));
  CHECK_FALSE(parse_mac("52-54-00-12-34-56"));
  CHECK_FALSE(parse_mac("52:54:00:12:34:5g"));
  CHECK_FALSE(parse_mac("52:54:00:12:34:+5"));
  CHECK_FALSE(parse_mac(""));
  CHECK(format_mac({0x52, 0x54, 0x00, 0xab, 0x0c, 0x01}) == "52:54:00:ab:0c:01");
}

// --net user parsing (app/cli/device_options.cc, devices/virtio/net/
// user_net_options.cc): QEMU's hostfwd forms, the network, and the refusals.
#include <catch2/catch.hpp>

#include "app/cli/device_options.h"
#include "base/util/error.h"
#include "devices/virtio/net/user_net_options.h"
#include "tests/unit/net_option_refusal.h"

using namespace kvmm;

namespace {

using testing::net_option_refusal;

constexpr Ipv4Address kLoopback = 0x7f000001;

}  // namespace

TEST_CASE("user net: the defaults are QEMU's network with offloads off") {
  const NetOptions o = parse_net_options("user", 0);
  REQUIRE(o.user);
  CHECK(o.tap.empty());
  CHECK_FALSE(o.vhost);
  CHECK(o.offloads == NetOffloads::kOff);
  CHECK(format_ipv4(o.user->network) == "10.0.2.0");
  CHECK(o.user->prefix == 24);
  CHECK(format_ipv4(o.user->netmask()) == "255.255.255.0");
  CHECK(format_ipv4(o.user->host()) == "10.0.2.2");
  CHECK(format_ipv4(o.user->nameserver()) == "10.0.2.3");
  CHECK(format_ipv4(o.user->dhcp_start()) == "10.0.2.15");
  CHECK_FALSE(o.user->restricted);
  CHECK(o.user->dns);
  CHECK(o.user->forwards.empty());
  CHECK(format_net_options(o) == "user,mac=" + format_mac(o.mac));
}

TEST_CASE("user net: hostfwd takes QEMU's forms, with the loopback as the host address") {
  CHECK(parse_host_forward("tcp::2222-:22") ==
        HostForward{ForwardProtocol::kTcp, kLoopback, 2222, std::nullopt, 22});
  CHECK(parse_host_forward("::2222-:22") ==
        HostForward{ForwardProtocol::kTcp, kLoopback, 2222, std::nullopt, 22});
  CHECK(parse_host_forward("udp:0.0.0.0:5353-10.0.2.20:53") ==
        HostForward{ForwardProtocol::kUdp, 0, 5353, 0x0a000214, 53});
  CHECK(parse_host_forward("tcp:192.168.1.5:80-:8080").host_address == 0xc0a80105);
}

TEST_CASE("user net: every field parses and formats back to the same options") {
  const std::string text =
      "user,mac=52:54:00:12:34:56,net=169.254.50.0/24,restrict=on,dns=off,"
      "hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5000-169.254.50.20:5001";
  const NetOptions o = parse_net_options(text, 0);
  REQUIRE(o.user);
  CHECK(o.mac == MacAddress{0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
  CHECK(format_ipv4(o.user->network) == "169.254.50.0");
  CHECK(format_ipv4(o.user->host()) == "169.254.50.2");
  CHECK(format_ipv4(o.user->dhcp_start()) == "169.254.50.15");
  CHECK(o.user->restricted);
  CHECK_FALSE(o.user->dns);
  REQUIRE(o.user->forwards.size() == 2);
  CHECK(format_ipv4(o.user->guest_address(o.user->forwards[0])) == "169.254.50.15");
  CHECK(format_ipv4(o.user->guest_address(o.user->forwards[1])) == "169.254.50.20");
  const std::string formatted = format_net_options(o);
  CHECK(formatted ==
        "user,mac=52:54:00:12:34:56,net=169.254.50.0/24,restrict=on,dns=off,"
        "hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:127.0.0.1:5000-169.254.50.20:5001");
  const NetOptions again = parse_net_options(formatted, 0);
  CHECK(again.user == o.user);
  CHECK(again.mac == o.mac);
}

TEST_CASE("user net: bad hostfwd strings are refused with the form") {
  const std::string form =
      "give hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, e.g. hostfwd=tcp::2222-:22";
  CHECK(net_option_refusal("user,hostfwd=tcp:2222-:22") ==
        "--net user,hostfwd=tcp:2222-:22: hostfwd=tcp:2222-:22: the host side 'tcp:2222' is not "
        "PROTOCOL:HOSTADDR:HOSTPORT (both colons are needed); " + form);
  CHECK(net_option_refusal("user,hostfwd=tcp::2222:22").find("no '-' between the host and guest sides") !=
        std::string::npos);
  CHECK(net_option_refusal("user,hostfwd=tcp::2222-22").find("the guest side '22' is not GUESTADDR:GUESTPORT") !=
        std::string::npos);
  CHECK(net_option_refusal("user,hostfwd=sctp::1-:2").find("protocol 'sctp' is not tcp or udp") !=
        std::string::npos);
  CHECK(net_option_refusal("user,hostfwd=tcp::0-:22").find("host port '0' is not a port number (1-65535)") !=
        std::string::npos);
  CHECK(net_option_refusal("user,hostfwd=tcp::70000-:22").find("host port '70000' is not a port number") !=
        std::string::npos);
  CHECK(net_option_refusal("user,hostfwd=tcp::2222-:").find("guest port '' is not a port number") !=
        std::string::npos);
  CHECK(net_option_refusal("user,hostfwd=tcp:localhost:2222-:22")
            .find("host address 'localhost' is not an IPv4 address") != std::string::npos);
  CHECK(net_option_refusal("user,hostfwd=tcp::2222-10.0.2.300:22")
            .find("guest address '10.0.2.300' is not an IPv4 address") != std::string::npos);
  CHECK(net_option_refusal("user,hostfwd=tcp::2222-192.168.0.5:22") ==
        "--net user,hostfwd=tcp::2222-192.168.0.5:22: hostfwd=tcp:127.0.0.1:2222-192.168.0.5:22: "
        "guest address 192.168.0.5 is outside the guest network 10.0.2.0/24: leave it out (the "
        "DHCP address 10.0.2.15) or give one inside");
  CHECK(net_option_refusal("user,hostfwd=tcp::2222-:22,hostfwd=tcp::2222-:23")
            .find("two hostfwd= take host port 2222") != std::string::npos);
  // The same port for TCP and UDP are two sockets.
  CHECK(net_option_refusal("user,hostfwd=tcp::53-:53,hostfwd=udp::53-:53") == "accepted");
  CHECK(net_option_refusal("user,hostfwd").find("'hostfwd' needs a value") != std::string::npos);
}

TEST_CASE("user net: net=, restrict= and dns= refuse what they cannot mean") {
  CHECK(net_option_refusal("user,net=10.0.2.0") ==
        "--net user,net=10.0.2.0: net=10.0.2.0 is not ADDRESS/PREFIX: give e.g. "
        "net=169.254.50.0/24");
  CHECK(net_option_refusal("user,net=169.254.50.1/24") ==
        "--net user,net=169.254.50.1/24: net=169.254.50.1/24 has host bits set: give the "
        "network, net=169.254.50.0/24");
  CHECK(net_option_refusal("user,net=10.0.0.0/28").find("the prefix must be 1 to 27") != std::string::npos);
  CHECK(net_option_refusal("user,net=10.0.0.0/0").find("the prefix must be 1 to 27") != std::string::npos);
  CHECK(net_option_refusal("user,net=10.0.02.0/24").find("is not ADDRESS/PREFIX") != std::string::npos);
  CHECK(net_option_refusal("user,restrict=yes") == "--net user,restrict=yes: restrict=yes is not on or off");
  CHECK(net_option_refusal("user,dns=no") == "--net user,dns=no: dns=no is not on or off");
  CHECK(net_option_refusal("user,queues=2").find("unknown field 'queues'") != std::string::npos);
}

TEST_CASE("user net: tap, vhost and offload options are refused with user") {
  CHECK(net_option_refusal("user,vhost=on") ==
        "--net user,vhost=on: vhost= is for taps; user-mode networking moves frames in kvmm "
        "without offloads: drop vhost= or use --net tap=NAME");
  CHECK(net_option_refusal("user,offload=on").find("offload= is for taps") != std::string::npos);
  CHECK(net_option_refusal("user,tap=a").find("tap= is for taps") != std::string::npos);
  CHECK(net_option_refusal("user,fd=3").find("fd= is for taps") != std::string::npos);
  // And the user-mode fields without user.
  CHECK(net_option_refusal("tap=a,hostfwd=tcp::2222-:22") ==
        "--net tap=a,hostfwd=tcp::2222-:22: hostfwd= is for user-mode networking: start the "
        "value with user (--net user,hostfwd=tcp::2222-:22)");
}

TEST_CASE("user net: IPv4 addresses parse only as four plain decimal bytes") {
  CHECK(parse_ipv4("169.254.50.2") == 0xa9fe3202);
  CHECK(parse_ipv4("0.0.0.0") == 0);
  CHECK(parse_ipv4("255.255.255.255") == 0xffffffff);
  CHECK_FALSE(parse_ipv4("1.2.3"));
  CHECK_FALSE(parse_ipv4("1.2.3.4.5"));
  CHECK_FALSE(parse_ipv4("1.2.3.256"));
  CHECK_FALSE(parse_ipv4("01.2.3.4"));
  CHECK_FALSE(parse_ipv4("1.2.3.-4"));
  CHECK_FALSE(parse_ipv4(""));
  CHECK(format_ipv4(0xa9fe3202) == "169.254.50.2");
}

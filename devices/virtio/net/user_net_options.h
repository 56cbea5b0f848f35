#pragma once
// What `--net user[,net=ADDR/PREFIX][,restrict=on|off][,dns=on|off]
// [,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...` asks
// for: user-mode networking on libslirp (slirp_backend.h), in QEMU's
// -netdev user spelling. Parsed and formatted here, so the CLI and vm.info's
// config agree; the rest of --net (mac=) is app/cli/device_options.cc's.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvmm {

// An IPv4 address in host byte order (169.254.50.2 is 0xa9fe3202).
using Ipv4Address = uint32_t;

enum class ForwardProtocol { kTcp, kUdp };

// hostfwd=: connections to HOSTADDR:HOSTPORT on the host go to
// GUESTADDR:GUESTPORT in the guest.
struct HostForward {
  ForwardProtocol protocol = ForwardProtocol::kTcp;
  // QEMU's default is every address (0.0.0.0); kvmm's is the loopback, so a
  // forward is not reachable from other machines unless asked for.
  Ipv4Address host_address = 0x7f000001;
  uint16_t host_port = 0;
  std::optional<Ipv4Address> guest_address;  // Default: the first DHCP address.
  uint16_t guest_port = 0;

  bool operator==(const HostForward&) const = default;
};

struct UserNetOptions {
  // The guest's network: QEMU's 10.0.2.0/24, with the host (gateway) at .2,
  // the DNS forwarder at .3 and DHCP handing out addresses from .15.
  Ipv4Address network = 0x0a000200;
  unsigned prefix = 24;
  // restrict=on: the guest reaches nothing but the forwards (libslirp's
  // `restricted`).
  bool restricted = false;
  // dns=off: nothing answers at .3 (libslirp's `disable_dns`).
  bool dns = true;
  std::vector<HostForward> forwards;

  Ipv4Address netmask() const;
  Ipv4Address host() const { return network + 2; }
  Ipv4Address nameserver() const { return network + 3; }
  Ipv4Address dhcp_start() const { return network + 15; }
  Ipv4Address guest_address(const HostForward& forward) const {
    return forward.guest_address.value_or(dhcp_start());
  }

  bool operator==(const UserNetOptions&) const = default;
};

// The smallest network that holds the .15 DHCP start: a /27.
inline constexpr unsigned kUserNetMaxPrefix = 27;

// "169.254.50.2": four decimal bytes. nullopt for anything else.
std::optional<Ipv4Address> parse_ipv4(std::string_view text);
std::string format_ipv4(Ipv4Address address);

// The value of one hostfwd= (QEMU's form, without "hostfwd="). Throws Error
// naming what is wrong and the form.
HostForward parse_host_forward(std::string_view text);
// The value of net=: "169.254.50.0/24". Throws Error.
void parse_user_network(std::string_view text, UserNetOptions& options);

// The user-mode fields that differ from the defaults, each with a leading
// comma (",net=169.254.50.0/24,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22").
std::string format_user_net_options(const UserNetOptions& options);
std::string format_host_forward(const HostForward& forward);

}  // namespace kvmm

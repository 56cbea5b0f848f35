#include "devices/virtio/net/user_net_options.h"

#include <string>
#include <vector>

#include "base/util/error.h"
#include "base/util/parse.h"

namespace kvmm {

namespace {

constexpr const char* kForwardForm =
    "give hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, e.g. hostfwd=tcp::2222-:22";

[[noreturn]] void refuse_forward(std::string_view text, const std::string& what) {
  throw Error("hostfwd=" + std::string(text) + ": " + what + "; " + kForwardForm);
}

uint16_t forward_port(std::string_view whole, std::string_view text, const char* which) {
  const auto port = parse_integer<uint16_t>(text);
  if (!port || *port == 0) {
    refuse_forward(whole, std::string(which) + " port '" + std::string(text) +
                              "' is not a port number (1-65535)");
  }
  return *port;
}

std::optional<Ipv4Address> forward_address(std::string_view whole, std::string_view text,
                                           const char* which) {
  if (text.empty()) return std::nullopt;
  const auto address = parse_ipv4(text);
  if (!address) {
    refuse_forward(whole, std::string(which) + " address '" + std::string(text) +
                              "' is not an IPv4 address (four decimal bytes)");
  }
  return address;
}

}  // namespace

Ipv4Address UserNetOptions::netmask() const {
  return prefix == 0 ? 0 : ~Ipv4Address{0} << (32 - prefix);
}

std::optional<Ipv4Address> parse_ipv4(std::string_view text) {
  const std::vector<std::string_view> parts = split(text, '.');
  if (parts.size() != 4) return std::nullopt;
  Ipv4Address address = 0;
  for (const std::string_view part : parts) {
    // No leading zeros: "010" is octal to inet_aton, decimal here; refuse both.
    if (part.size() > 1 && part[0] == '0') return std::nullopt;
    const auto byte = parse_integer<uint8_t>(part);
    if (!byte) return std::nullopt;
    address = address << 8 | *byte;
  }
  return address;
}

std::string format_ipv4(Ipv4Address address) {
  return std::to_string(address >> 24) + "." + std::to_string(address >> 16 & 0xff) + "." +
         std::to_string(address >> 8 & 0xff) + "." + std::to_string(address & 0xff);
}

HostForward parse_host_forward(std::string_view text) {
  // PROTOCOL:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT, as QEMU's -netdev user.
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) refuse_forward(text, "no '-' between the host and guest sides");
  const std::vector<std::string_view> host = split(text.substr(0, dash), ':');
  const std::vector<std::string_view> guest = split(text.substr(dash + 1), ':');
  if (host.size() != 3) {
    refuse_forward(text, "the host side '" + std::string(text.substr(0, dash)) +
                             "' is not PROTOCOL:HOSTADDR:HOSTPORT (both colons are needed)");
  }
  if (guest.size() != 2) {
    refuse_forward(text, "the guest side '" + std::string(text.substr(dash + 1)) +
                             "' is not GUESTADDR:GUESTPORT (the colon is needed)");
  }
  HostForward forward;
  if (host[0] == "udp") {
    forward.protocol = ForwardProtocol::kUdp;
  } else if (host[0].empty() || host[0] == "tcp") {
    forward.protocol = ForwardProtocol::kTcp;
  } else {
    refuse_forward(text, "protocol '" + std::string(host[0]) + "' is not tcp or udp");
  }
  if (const auto address = forward_address(text, host[1], "host")) forward.host_address = *address;
  forward.host_port = forward_port(text, host[2], "host");
  forward.guest_address = forward_address(text, guest[0], "guest");
  forward.guest_port = forward_port(text, guest[1], "guest");
  return forward;
}

void parse_user_network(std::string_view text, UserNetOptions& options) {
  const std::string what = "net=" + std::string(text);
  const size_t slash = text.find('/');
  const auto address = parse_ipv4(text.substr(0, slash));
  const auto prefix = slash == std::string_view::npos
                          ? std::optional<unsigned>()
                          : parse_integer<unsigned>(text.substr(slash + 1));
  if (!address || !prefix) {
    throw Error(what + " is not ADDRESS/PREFIX: give e.g. net=169.254.50.0/24");
  }
  if (*prefix < 1 || *prefix > kUserNetMaxPrefix) {
    throw Error(what + ": the prefix must be 1 to " + std::to_string(kUserNetMaxPrefix) +
                " (the DHCP range starts at the network's 15th address)");
  }
  UserNetOptions net;
  net.prefix = *prefix;
  if (*address & ~net.netmask()) {
    throw Error(what + " has host bits set: give the network, net=" +
                format_ipv4(*address & net.netmask()) + "/" + std::to_string(*prefix));
  }
  options.network = *address;
  options.prefix = *prefix;
}

std::string format_host_forward(const HostForward& forward) {
  std::string text = forward.protocol == ForwardProtocol::kUdp ? "udp:" : "tcp:";
  text += format_ipv4(forward.host_address) + ":" + std::to_string(forward.host_port) + "-";
  if (forward.guest_address) text += format_ipv4(*forward.guest_address);
  return text + ":" + std::to_string(forward.guest_port);
}

std::string format_user_net_options(const UserNetOptions& options) {
  const UserNetOptions defaults;
  std::string text;
  if (options.network != defaults.network || options.prefix != defaults.prefix) {
    text += ",net=" + format_ipv4(options.network) + "/" + std::to_string(options.prefix);
  }
  if (options.restricted) text += ",restrict=on";
  if (!options.dns) text += ",dns=off";
  for (const HostForward& forward : options.forwards) {
    text += ",hostfwd=" + format_host_forward(forward);
  }
  return text;
}

}  // namespace kvmm

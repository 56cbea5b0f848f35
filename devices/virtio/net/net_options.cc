#include "devices/virtio/net/net_options.h"

#include <cstdio>
#include <string>
#include <vector>

#include "base/util/parse.h"

namespace kvmm {

std::string format_net_options(const NetOptions& net) {
  if (net.user) return "user,mac=" + format_mac(net.mac) + format_user_net_options(*net.user);
  std::string text = net.tap.empty() ? "fd=" + std::to_string(net.fd) : "tap=" + net.tap;
  text += ",mac=" + format_mac(net.mac);
  if (net.offloads == NetOffloads::kOff) text += ",offload=off";
  if (net.vhost) text += ",vhost=on";
  return text;
}

std::optional<MacAddress> parse_mac(std::string_view text) {
  const std::vector<std::string_view> parts = split(text, ':');
  if (parts.size() != 6) return std::nullopt;
  MacAddress mac{};
  for (size_t i = 0; i < 6; ++i) {
    if (parts[i].size() != 2) return std::nullopt;
    const auto byte = parse_integer<uint8_t>(parts[i], 16);
    if (!byte) return std::nullopt;
    mac[i] = *byte;
  }
  return mac;
}

std::string format_mac(const MacAddress& mac) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return text;
}

MacAddress default_mac(unsigned index, unsigned pid) {
  const unsigned low = (pid * 16 + index) & 0xffffff;
  return {0x52, 0x54, 0x00, static_cast<uint8_t>(low >> 16), static_cast<uint8_t>(low >> 8),
          static_cast<uint8_t>(low)};
}

}  // namespace kvmm

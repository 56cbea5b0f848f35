#include "devices/virtio/net/net_options.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <vector>

#include "base/util/error.h"

namespace kvmm {

namespace {

constexpr const char* kForms =
    "use --net tap=NAME[,mac=MAC][,vlan=ID][,offload=on|off][,vhost=on|off] or "
    "--net fd=N[,mac=MAC][,offload=on|off][,vhost=on|off]";
constexpr size_t kInterfaceNameMax = 15;  // IFNAMSIZ - 1.

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool valid_interface_name(std::string_view name) {
  // What the kernel's dev_valid_name() accepts.
  if (name.empty() || name.size() > kInterfaceNameMax || name == "." || name == "..") return false;
  for (const char c : name) {
    if (c == '/' || c == ':' || c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::optional<MacAddress> parse_mac(std::string_view text) {
  const std::vector<std::string_view> parts = split(text, ':');
  if (parts.size() != 6) return std::nullopt;
  MacAddress mac{};
  for (size_t i = 0; i < 6; ++i) {
    if (parts[i].size() != 2) return std::nullopt;
    uint8_t byte = 0;
    const auto [end, error] = std::from_chars(parts[i].data(), parts[i].data() + 2, byte, 16);
    if (error != std::errc() || end != parts[i].data() + 2) return std::nullopt;
    mac[i] = byte;
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

NetOptions parse_net_options(std::string_view text, unsigned index) {
  const std::string whole = "--net " + std::string(text);
  NetOptions options;
  bool have_backend = false;
  bool have_mac = false;
  for (const std::string_view field : split(text, ',')) {
    const size_t equals = field.find('=');
    const std::string_view key = field.substr(0, equals);
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view() : field.substr(equals + 1);
    const std::string shown(field);
    if (equals == std::string_view::npos || value.empty()) {
      throw Error(whole + ": '" + shown + "' needs a value (KEY=VALUE): " + kForms);
    }
    if (key == "tap" || key == "fd") {
      if (have_backend) throw Error(whole + ": give one of tap= or fd=, once: " + kForms);
      have_backend = true;
      if (key == "tap") {
        if (!valid_interface_name(value)) {
          throw Error(whole + ": tap=" + std::string(value) +
                      " is not an interface name: 1 to 15 characters, no '/', ':' or spaces");
        }
        options.tap = value;
      } else {
        const auto fd = parse_number<int>(value);
        if (!fd || *fd < 0) {
          throw Error(whole + ": fd=" + std::string(value) +
                      " is not a file descriptor number: give e.g. fd=3");
        }
        options.fd = *fd;
      }
    } else if (key == "mac") {
      const auto mac = parse_mac(value);
      if (!mac) {
        throw Error(whole + ": mac=" + std::string(value) +
                    " is not a MAC address: give six hex bytes, e.g. mac=52:54:00:12:34:56");
      }
      if ((*mac)[0] & 1) {
        throw Error(whole + ": mac=" + std::string(value) +
                    " is a multicast address (lowest bit of the first byte set): give a unicast "
                    "one, e.g. mac=52:54:00:12:34:56");
      }
      if (*mac == MacAddress{}) {
        throw Error(whole + ": mac=" + std::string(value) +
                    " is all zeros: give e.g. mac=52:54:00:12:34:56");
      }
      options.mac = *mac;
      have_mac = true;
    } else if (key == "vlan") {
      const auto vlan = parse_number<unsigned>(value);
      if (!vlan || *vlan < 1 || *vlan > 4094) {
        throw Error(whole + ": vlan=" + std::string(value) +
                    " is not a VLAN ID: give a number from 1 to 4094");
      }
      options.vlan = static_cast<uint16_t>(*vlan);
    } else if (key == "offload") {
      if (value == "on") {
        options.offloads = NetOffloads::kOn;
      } else if (value == "off") {
        options.offloads = NetOffloads::kOff;
      } else {
        throw Error(whole + ": offload=" + std::string(value) + " is not on or off");
      }
    } else if (key == "vhost") {
      if (value != "on" && value != "off") {
        throw Error(whole + ": vhost=" + std::string(value) + " is not on or off");
      }
      options.vhost = value == "on";
    } else {
      throw Error(whole + ": unknown field '" + std::string(key) + "': " + kForms);
    }
  }
  if (!have_backend) throw Error(whole + ": needs tap=NAME or fd=N: " + kForms);
  if (options.fd >= 0 && options.vlan) {
    throw Error(whole + ": vlan= goes with tap=NAME (the tap's bridge port is set up by "
                        "tools/kvmm-net); with fd= the parent sets up the port");
  }
  if (!have_mac) options.mac = default_mac(index, static_cast<unsigned>(::getpid()));
  return options;
}

}  // namespace kvmm

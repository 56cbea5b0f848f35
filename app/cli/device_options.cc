#include "app/cli/device_options.h"

#include <unistd.h>

#include <optional>
#include <string>

#include "base/util/error.h"
#include "base/util/parse.h"

namespace kvmm {

namespace {

constexpr const char* kDiskForms = "accepted: --disk PATH[,ro][,serial=S][,cache=none|writeback]";
constexpr const char* kNetForms =
    "use --net tap=NAME[,mac=MAC][,offload=on|off][,vhost=on|off], "
    "--net fd=N[,mac=MAC][,offload=on|off][,vhost=on|off] or "
    "--net user[,mac=MAC][,net=ADDR/PREFIX][,restrict=on|off][,dns=on|off][,hostfwd=...]";
constexpr const char* kUserNetForms =
    "use --net user[,mac=MAC][,net=ADDR/PREFIX][,restrict=on|off][,dns=on|off]"
    "[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...";
constexpr size_t kInterfaceNameMax = 15;  // IFNAMSIZ - 1.

[[noreturn]] void refuse_disk(const std::string& what) {
  throw Error("--disk: " + what + "; " + kDiskForms);
}

void check_serial(std::string_view serial) {
  if (serial.empty()) refuse_disk("serial= is empty");
  if (serial.size() > kDiskSerialMax) {
    refuse_disk("serial '" + std::string(serial) + "' is " + std::to_string(serial.size()) +
                " bytes, more than the 20 virtio-blk can report");
  }
  for (char c : serial) {
    // The guest shows it in /sys/block/vdX/serial: printable ASCII only.
    if (c < 0x21 || c > 0x7e) {
      refuse_disk("serial '" + std::string(serial) + "' has a character that is not printable ASCII");
    }
  }
}

}  // namespace

bool valid_interface_name(std::string_view name) {
  if (name.empty() || name.size() > kInterfaceNameMax || name == "." || name == "..") return false;
  for (const char c : name) {
    if (c == '/' || c == ':' || c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

DiskOptions parse_disk_options(std::string_view text) {
  const std::vector<KeyValue> fields = split_key_values(text);
  DiskOptions options;
  if (fields[0].field.empty()) refuse_disk("no image path before the options");
  options.path = std::string(fields[0].field);
  bool seen_ro = false, seen_serial = false, seen_cache = false;
  for (size_t i = 1; i < fields.size(); ++i) {
    const KeyValue& field = fields[i];
    auto once = [&](bool& seen) {
      if (seen) refuse_disk("'" + std::string(field.key) + "' given twice");
      seen = true;
    };
    if (field.field.empty()) {
      refuse_disk("empty option (two commas in a row or a trailing comma)");
    } else if (field.key == "ro") {
      if (field.value) refuse_disk("'ro' takes no value (got '" + std::string(field.field) + "')");
      once(seen_ro);
      options.access = DiskAccess::kReadOnly;
    } else if (field.key == "serial") {
      if (!field.value) refuse_disk("serial needs a value: serial=S");
      once(seen_serial);
      check_serial(*field.value);
      options.serial = std::string(*field.value);
    } else if (field.key == "cache") {
      once(seen_cache);
      if (field.value == "none") {
        options.cache = DiskCache::kNone;
      } else if (field.value == "writeback") {
        options.cache = DiskCache::kWriteback;
      } else {
        refuse_disk("cache must be none or writeback (got '" + std::string(field.field) + "')");
      }
    } else {
      refuse_disk("unknown option '" + std::string(field.field) + "'");
    }
  }
  return options;
}

namespace {

bool parse_on_off(const std::string& whole, std::string_view key, std::string_view value) {
  if (value != "on" && value != "off") {
    throw Error(whole + ": " + std::string(key) + "=" + std::string(value) + " is not on or off");
  }
  return value == "on";
}

std::optional<MacAddress> parse_guest_mac(const std::string& whole, std::string_view value) {
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
  return mac;
}

// --net user,...: everything after "user".
NetOptions parse_user_net_options(const std::string& whole, const std::vector<KeyValue>& fields,
                                  unsigned index) {
  NetOptions options;
  options.user = UserNetOptions{};
  UserNetOptions& user = *options.user;
  // libslirp moves every frame in kvmm and checks the guest's checksums:
  // no vhost, and no offloads (a GSO frame would reach it as one huge frame).
  options.offloads = NetOffloads::kOff;
  std::optional<MacAddress> mac;
  for (size_t i = 1; i < fields.size(); ++i) {
    const KeyValue& field = fields[i];
    const std::string_view key = field.key;
    if (key == "tap" || key == "fd" || key == "vhost" || key == "offload" || key == "vlan") {
      throw Error(whole + ": " + std::string(key) +
                  "= is for taps; user-mode networking moves frames in kvmm without offloads: "
                  "drop " + std::string(key) + "= or use --net tap=NAME");
    }
    if (!field.value || field.value->empty()) {
      throw Error(whole + ": '" + std::string(field.field) + "' needs a value (KEY=VALUE): " +
                  kUserNetForms);
    }
    const std::string_view value = *field.value;
    try {
      if (key == "mac") {
        mac = parse_guest_mac(whole, value);
      } else if (key == "net") {
        parse_user_network(value, user);
      } else if (key == "restrict") {
        user.restricted = parse_on_off(whole, key, value);
      } else if (key == "dns") {
        user.dns = parse_on_off(whole, key, value);
      } else if (key == "hostfwd") {
        user.forwards.push_back(parse_host_forward(value));
      } else {
        throw Error("unknown field '" + std::string(key) + "': " + kUserNetForms);
      }
    } catch (const Error& e) {
      const std::string message = e.what();
      if (message.starts_with(whole)) throw;
      throw Error(whole + ": " + message);
    }
  }
  for (size_t i = 0; i < user.forwards.size(); ++i) {
    const HostForward& forward = user.forwards[i];
    const Ipv4Address guest = user.guest_address(forward);
    if ((guest & user.netmask()) != user.network) {
      throw Error(whole + ": hostfwd=" + format_host_forward(forward) + ": guest address " +
                  format_ipv4(guest) + " is outside the guest network " +
                  format_ipv4(user.network) + "/" + std::to_string(user.prefix) +
                  ": leave it out (the DHCP address " + format_ipv4(user.dhcp_start()) +
                  ") or give one inside");
    }
    for (size_t j = 0; j < i; ++j) {
      const HostForward& other = user.forwards[j];
      if (other.protocol == forward.protocol && other.host_port == forward.host_port &&
          (other.host_address == forward.host_address || other.host_address == 0 ||
           forward.host_address == 0)) {
        throw Error(whole + ": two hostfwd= take host port " + std::to_string(forward.host_port) +
                    ": give each its own host port");
      }
    }
  }
  options.mac = mac ? *mac : default_mac(index, static_cast<unsigned>(::getpid()));
  return options;
}

}  // namespace

NetOptions parse_net_options(std::string_view text, unsigned index) {
  const std::string whole = "--net " + std::string(text);
  const std::vector<KeyValue> fields = split_key_values(text);
  if (fields[0].field == "user") return parse_user_net_options(whole, fields, index);
  NetOptions options;
  bool have_backend = false;
  bool have_mac = false;
  std::optional<std::string_view> vlan;
  for (const KeyValue& field : fields) {
    const std::string_view key = field.key;
    if (key == "hostfwd" || key == "restrict" || key == "net" || key == "dns") {
      throw Error(whole + ": " + std::string(key) + "= is for user-mode networking: " +
                  "start the value with user (--net user," + std::string(field.field) + ")");
    }
    if (!field.value || field.value->empty()) {
      throw Error(whole + ": '" + std::string(field.field) + "' needs a value (KEY=VALUE): " +
                  kNetForms);
    }
    const std::string_view value = *field.value;
    if (key == "tap" || key == "fd") {
      if (have_backend) throw Error(whole + ": give one of tap= or fd=, once: " + kNetForms);
      have_backend = true;
      if (key == "tap") {
        if (!valid_interface_name(value)) {
          throw Error(whole + ": tap=" + std::string(value) +
                      " is not an interface name: 1 to 15 characters, no '/', ':' or spaces");
        }
        options.tap = value;
      } else {
        const auto fd = parse_integer<int>(value);
        if (!fd || *fd < 0) {
          throw Error(whole + ": fd=" + std::string(value) +
                      " is not a file descriptor number: give e.g. fd=3");
        }
        options.fd = *fd;
      }
    } else if (key == "mac") {
      options.mac = *parse_guest_mac(whole, value);
      have_mac = true;
    } else if (key == "vlan") {
      vlan = value;  // Refused below, once the tap's name is known.
    } else if (key == "offload") {
      if (value == "on") {
        options.offloads = NetOffloads::kOn;
      } else if (value == "off") {
        options.offloads = NetOffloads::kOff;
      } else {
        throw Error(whole + ": offload=" + std::string(value) + " is not on or off");
      }
    } else if (key == "vhost") {
      options.vhost = parse_on_off(whole, key, value);
    } else {
      throw Error(whole + ": unknown field '" + std::string(key) + "': " + kNetForms);
    }
  }
  if (!have_backend) throw Error(whole + ": needs tap=NAME or fd=N: " + kNetForms);
  if (vlan) {
    // Once accepted and then ignored: the device never tags frames, and the
    // VLAN is a property of the tap's bridge port, which the host sets.
    throw Error(whole + ": kvmm does not set VLANs: drop vlan= and put the tap in the VLAN on "
                "the host: sudo tools/kvmm-net tap " + (options.tap.empty() ? "NAME" : options.tap) +
                " --vlan " + std::string(*vlan) + " (docs/networking.md)");
  }
  if (!have_mac) options.mac = default_mac(index, static_cast<unsigned>(::getpid()));
  return options;
}

namespace {

constexpr const char* kDeviceForms =
    "use debug-exit, testdev, isa-debug-exit[,iobase=N][,iosize=1|2|4] or pc-testdev";

[[noreturn]] void refuse_device(const std::string& what) {
  throw Error("--device " + what + ": " + kDeviceForms);
}

// A port number: decimal, or hexadecimal after 0x (QEMU's iobase=0xf4).
std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) return parse_integer<uint16_t>(text.substr(2), 16);
  return parse_integer<uint16_t>(text);
}

IsaDebugExitPorts parse_isa_debug_exit(const std::vector<KeyValue>& fields) {
  IsaDebugExitPorts ports;
  for (size_t i = 1; i < fields.size(); ++i) {
    const KeyValue& field = fields[i];
    const std::string given(field.field);
    if (field.key == "iobase" && field.value) {
      const std::optional<uint16_t> port = parse_port(*field.value);
      if (!port) refuse_device("isa-debug-exit: iobase '" + std::string(*field.value) + "' is not a port number (0-0xffff)");
      ports.iobase = *port;
    } else if (field.key == "iosize" && field.value) {
      const std::optional<uint8_t> size = parse_integer<uint8_t>(*field.value);
      if (!size || (*size != 1 && *size != 2 && *size != 4)) {
        refuse_device("isa-debug-exit: iosize must be 1, 2 or 4 (got '" + std::string(*field.value) + "')");
      }
      ports.iosize = *size;
    } else {
      refuse_device("isa-debug-exit: unknown option '" + given + "'");
    }
  }
  if (uint32_t{ports.iobase} + ports.iosize > 0x10000) {
    refuse_device("isa-debug-exit: iobase " + std::to_string(ports.iobase) + " with iosize " +
                  std::to_string(ports.iosize) + " runs past port 0xffff");
  }
  return ports;
}

}  // namespace

void parse_device_option(std::string_view text, DebugDevices& devices) {
  const std::vector<KeyValue> fields = split_key_values(text);
  const std::string_view name = fields[0].field;
  if (name == "isa-debug-exit") {
    devices.isa_debug_exit = parse_isa_debug_exit(fields);
    return;
  }
  if (fields.size() > 1) refuse_device(std::string(text) + " takes no options");
  if (name == "debug-exit") {
    devices.debug_exit = true;
  } else if (name == "testdev") {
    devices.test_device = true;
  } else if (name == "pc-testdev") {
    devices.pc_testdev = true;
  } else {
    throw Error("--device " + std::string(name) + " is not a device: " + kDeviceForms);
  }
}

}  // namespace kvmm

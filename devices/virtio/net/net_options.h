#pragma once
// What `--net tap=NAME[,mac=MAC][,offload=on|off][,vhost=on|off]`,
// `--net fd=N[,mac=MAC][,offload=on|off][,vhost=on|off]` or
// `--net user[,mac=MAC][,...]` (user_net_options.h) asks for (parsed in
// app/cli/device_options.cc), that text again (for vm.info's config), and
// the MAC address helpers.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "devices/virtio/net/user_net_options.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/net/virtio_net_spec.h"

namespace kvmm {

struct NetOptions {
  std::string tap;  // tap=NAME: open (or create) this tap. Empty with fd= and user.
  int fd = -1;      // fd=N: an open tap fd handed over by the parent.
  // user: user-mode networking in kvmm (libslirp); no tap, no root.
  std::optional<UserNetOptions> user;
  MacAddress mac{};
  NetOffloads offloads = NetOffloads::kOn;
  // vhost=on: the kernel's vhost-net moves the frames (/dev/vhost-net).
  bool vhost = false;
};

// The --net value that parses back to `net`: the backend and the MAC, then
// only what differs from the defaults.
std::string format_net_options(const NetOptions& net);

// "52:54:00:12:34:56" (hex, ':'-separated). nullopt for anything else.
std::optional<MacAddress> parse_mac(std::string_view text);
std::string format_mac(const MacAddress& mac);

// 52:54:00:xx:xx:xx — locally administered, unicast (QEMU's prefix) —
// with the low bytes from kvmm's pid and the device index, so two kvmm
// processes on one bridge differ unless their pids collide in 16 bits.
MacAddress default_mac(unsigned index, unsigned pid);

}  // namespace kvmm

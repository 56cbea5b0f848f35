#pragma once
// The --disk and --net values of `kvmm run`: command-line syntax parsed into
// the devices' own option structs (devices/ knows nothing of the syntax).
#include <string_view>

#include "devices/virtio/block/disk_options.h"
#include "devices/virtio/net/net_options.h"
#include "vmm/machine/platform_devices.h"

namespace kvmm {

// PATH[,ro][,serial=S][,cache=none|writeback]. Throws Error naming the bad
// field and the accepted forms. The path is taken verbatim up to the first
// comma (paths with commas are not supported).
DiskOptions parse_disk_options(std::string_view text);

// tap=NAME|fd=N[,mac=MAC][,vlan=ID][,offload=on|off][,vhost=on|off], or
// user[,mac=MAC][,net=ADDR/PREFIX][,restrict=on|off][,dns=on|off][,hostfwd=...]
// (devices/virtio/net/user_net_options.h); `index` (0 for the first --net)
// picks the default MAC. Throws Error naming the bad
// field and the accepted forms.
NetOptions parse_net_options(std::string_view text, unsigned index);

// One --device: debug-exit, testdev, isa-debug-exit[,iobase=N][,iosize=1|2|4]
// (N decimal or 0x-hex) or pc-testdev, added to `devices`. Throws Error
// naming the bad field and the accepted forms.
void parse_device_option(std::string_view text, DebugDevices& devices);

// What the kernel's dev_valid_name() accepts: 1 to 15 characters, no '/',
// ':' or whitespace, not "." or "..".
bool valid_interface_name(std::string_view name);

}  // namespace kvmm

#pragma once
// Who keeps a block device from being opened exclusively (EBUSY on O_EXCL):
// a mount, a kernel holder stacked on it (device-mapper: LVM, RAID,
// dm-crypt), or else some process. Only for the error message, so that it
// names the holder and the fix that applies to it.
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace kvmm {

// The first mount point of the block device `device` in `mountinfo`, the text
// of /proc/self/mountinfo (proc(5): field 3 is MAJOR:MINOR, field 5 the
// mount point with ' ', '\t', '\n' and '\\' written as octal escapes, which
// are undone); "" when it is not mounted.
std::string mount_point_of(std::string_view mountinfo, dev_t device);

// The kernel devices holding `device` (/sys/dev/block/MAJOR:MINOR/holders),
// e.g. "dm-0"; empty when none or unreadable.
std::vector<std::string> holders_of(dev_t device);

// One clause for "disk PATH: ...": why the exclusive open of block device
// `path` (device number `device`) failed, and the fix.
std::string block_device_busy_reason(const std::string& path, dev_t device);

}  // namespace kvmm

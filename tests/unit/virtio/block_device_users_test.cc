// Naming what holds a busy block device: the mount point found in
// /proc/self/mountinfo text, with proc(5)'s octal escapes undone.
#include "devices/virtio/block/block_device_users.h"

#include <sys/sysmacros.h>

#include <catch2/catch.hpp>

using namespace kvmm;

namespace {
// Lines as the kernel writes them (proc(5)); 254:3 is mounted twice.
constexpr const char* kMountinfo =
    "22 1 0:21 / / rw,relatime - 9p hostroot ro\n"
    "36 22 8:1 / /boot rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "41 22 254:3 / /mnt/my\\040data rw,relatime - ext4 /dev/mapper/vg-lv rw\n"
    "42 22 254:3 / /srv rw,relatime - ext4 /dev/mapper/vg-lv rw\n"
    "43 22 254:30 / /other rw,relatime - ext4 /dev/mapper/vg-lv3 rw\n";
}  // namespace

TEST_CASE("mount_point_of finds a block device's first mount point by its numbers") {
  CHECK(mount_point_of(kMountinfo, makedev(8, 1)) == "/boot");
  CHECK(mount_point_of(kMountinfo, makedev(254, 3)) == "/mnt/my data");
  CHECK(mount_point_of(kMountinfo, makedev(254, 30)) == "/other");
}

TEST_CASE("mount_point_of returns nothing for a device that is not mounted or odd lines") {
  CHECK(mount_point_of(kMountinfo, makedev(254, 0)).empty());
  CHECK(mount_point_of(kMountinfo, makedev(25, 43)).empty());
  CHECK(mount_point_of("", makedev(8, 1)).empty());
  CHECK(mount_point_of("garbage\n36 22\n", makedev(8, 1)).empty());
}

TEST_CASE("mount_point_of keeps a backslash that starts no octal escape") {
  CHECK(mount_point_of("1 1 7:0 / /a\\b\\12 rw - ext4 x rw\n", makedev(7, 0)) == "/a\\b\\12");
  CHECK(mount_point_of("1 1 7:0 / /t\\011ab rw - ext4 x rw\n", makedev(7, 0)) == "/t\tab");
}

TEST_CASE("block_device_busy_reason names the fix when nothing else is known") {
  // A device number that nothing mounts or holds.
  const std::string reason = block_device_busy_reason("/dev/x", makedev(4095, 4095));
  CHECK(reason.find("opened exclusively by another process") != std::string::npos);
  CHECK(reason.find("fuser -v /dev/x") != std::string::npos);
  CHECK(reason.find('\n') == std::string::npos);
}

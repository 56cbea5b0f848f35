#include "devices/virtio/block/block_device_users.h"

#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

namespace kvmm {

namespace {

// proc(5)'s escapes in mountinfo paths: backslash and three octal digits.
std::string unescape_octal(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string_view digits = field.substr(i + 1, 3);
      if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>(((digits[0] - '0') << 6) | ((digits[1] - '0') << 3) | (digits[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

}  // namespace

std::string mount_point_of(std::string_view mountinfo, dev_t device) {
  const std::string wanted = std::to_string(major(device)) + ":" + std::to_string(minor(device));
  std::istringstream lines{std::string(mountinfo)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, parent, numbers, root, mount_point;
    if (!(fields >> id >> parent >> numbers >> root >> mount_point)) continue;
    if (numbers == wanted) return unescape_octal(mount_point);
  }
  return {};
}

std::vector<std::string> holders_of(dev_t device) {
  const std::filesystem::path dir = "/sys/dev/block/" + std::to_string(major(device)) + ":" +
                                    std::to_string(minor(device)) + "/holders";
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string block_device_busy_reason(const std::string& path, dev_t device) {
  std::ifstream in("/proc/self/mountinfo");
  const std::string mountinfo{std::istreambuf_iterator<char>(in), {}};
  const std::string mount_point = mount_point_of(mountinfo, device);
  if (!mount_point.empty()) {
    return "is a block device mounted on " + mount_point + " on the host; unmount it first (umount " +
           mount_point + "), or pass ,ro to read it as it is";
  }
  const std::vector<std::string> holders = holders_of(device);
  if (!holders.empty()) {
    return "is a block device held by " + holders.front() +
           " (device-mapper: LVM, RAID or dm-crypt on top of it); give the guest that volume "
           "instead, or deactivate it (vgchange -an, dmsetup remove)";
  }
  return "is a block device opened exclusively by another process (another kvmm or QEMU using it, "
         "or a disk tool); stop it (fuser -v " + path + " names it), or use another volume";
}

}  // namespace kvmm

#pragma once
// What `--disk PATH[,ro][,serial=S][,cache=none|writeback]` asks for (parsed
// in app/cli/device_options.cc), and that text again: vm.info's config and
// `kvmm info NAME --config` write it so that `kvmm run --config` reads it back.
#include <string>

namespace kvmm {

enum class DiskCache {
  kWriteback,  // The host page cache; FLUSH makes writes durable (fdatasync).
  kNone,       // O_DIRECT: bypasses the host page cache; FLUSH still fdatasyncs.
};

enum class DiskAccess { kReadWrite, kReadOnly };

struct DiskOptions {
  std::string path;
  DiskAccess access = DiskAccess::kReadWrite;
  std::string serial;  // Empty: derived from the path (see VirtioBlock).
  DiskCache cache = DiskCache::kWriteback;
};

// The longest serial GET_ID can return (virtio 1.2 §5.2.6: 20 bytes, not
// NUL-terminated when all 20 are used).
inline constexpr size_t kDiskSerialMax = 20;

// The --disk value that parses back to `disk`: PATH, then only what differs
// from the defaults.
inline std::string format_disk_options(const DiskOptions& disk) {
  std::string text = disk.path;
  if (disk.access == DiskAccess::kReadOnly) text += ",ro";
  if (!disk.serial.empty()) text += ",serial=" + disk.serial;
  if (disk.cache == DiskCache::kNone) text += ",cache=none";
  return text;
}

}  // namespace kvmm

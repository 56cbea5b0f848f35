#pragma once
// What `--disk PATH[,ro][,serial=S][,cache=none|writeback]` asks for (parsed
// in app/cli/device_options.cc).
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

}  // namespace kvmm

#pragma once
// The host file or block device behind a virtio-blk disk.
//
// Opening checks everything a user can get wrong and says so in one line:
// a missing path, no permission, a directory or other non-disk, an empty
// image, a size that is not a whole number of 512-byte sectors (refused, not
// rounded down: silently hiding the tail of an image would surprise; the
// message gives the `truncate` that fixes it), a file system that refuses
// O_DIRECT for cache=none, an image another process holds locked, and a
// qcow2 image (kvmm's disks are raw; the message gives the qemu-img convert
// that makes one).
//
// Locking: flock(LOCK_EX|LOCK_NB) for read-write, LOCK_SH|LOCK_NB for
// read-only, held while the DiskImage lives: two kvmm never write one image,
// any number may share it read-only, and nobody writes under a reader. The
// same again as an open file description lock (F_OFD_SETLK, whole file),
// which is what QEMU takes and checks: neither kind sees the other.
// A block device opened read-write is opened O_EXCL: refused while mounted
// or claimed exclusively by someone else, and the refusal names the mount
// point or holder where it can (block_device_users.h).
#include <cstdint>
#include <string>

#include "base/util/unique_fd.h"
#include "devices/virtio/block/disk_options.h"

namespace kvmm {

inline constexpr uint64_t kSectorSize = 512;

class DiskImage {
 public:
  // Throws Error (one line: what, which path, the fix).
  static DiskImage open(const DiskOptions& options);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  uint64_t size_bytes() const { return size_bytes_; }
  uint64_t sectors() const { return size_bytes_ / kSectorSize; }
  bool read_only() const { return access_ == DiskAccess::kReadOnly; }
  DiskCache cache() const { return cache_; }
  bool block_device() const { return block_device_; }
  // Alignment O_DIRECT needs for offsets, lengths and buffer addresses
  // (512 or 4096); 512 with cache=writeback.
  uint32_t block_size() const { return block_size_; }
  // Granularity at which the host can deallocate (the file system block).
  uint32_t discard_granularity() const { return discard_granularity_; }

 private:
  DiskImage() = default;

  UniqueFd fd_;
  std::string path_;
  uint64_t size_bytes_ = 0;
  DiskAccess access_ = DiskAccess::kReadWrite;
  DiskCache cache_ = DiskCache::kWriteback;
  bool block_device_ = false;
  uint32_t block_size_ = static_cast<uint32_t>(kSectorSize);
  uint32_t discard_granularity_ = 4096;
};

}  // namespace kvmm

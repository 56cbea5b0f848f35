#include "devices/virtio/block/disk_image.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "base/util/error.h"
#include "devices/virtio/block/block_device_users.h"

namespace kvmm {

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw Error("disk " + path + ": " + what);
}

[[noreturn]] void refuse_open(const std::string& path, DiskAccess access, int err) {
  switch (err) {
    case ENOENT:
      refuse(path, "no such file; check the path (tools/make-ext4-image makes an image from a folder)");
    case EACCES:
    case EPERM:
      refuse(path, access == DiskAccess::kReadOnly
                       ? "permission denied; make it readable (chmod/chown) or run as a user who may read it"
                       : "permission denied for read-write; make it writable, or pass ,ro to use it read-only");
    case EROFS:
      refuse(path, "on a read-only file system; pass ,ro to use it read-only");
    case EISDIR:
      refuse(path, "is a directory; give an image file (tools/make-ext4-image DIR IMAGE makes one)");
    default:
      refuse(path, std::string("cannot open: ") + std::strerror(err));
  }
}

// O_DIRECT needs offsets, lengths and buffers aligned to the logical block
// size; some file systems refuse it entirely (EINVAL at open or first read).
// Probe with one aligned read: returns the alignment that works, or 0.
uint32_t probe_direct_alignment(int fd, uint64_t size) {
  constexpr size_t kMax = 4096;
  std::unique_ptr<void, decltype(&std::free)> buffer(std::aligned_alloc(kMax, kMax), &std::free);
  if (!buffer) return 0;
  for (uint32_t alignment : {512u, 4096u}) {
    if (size < alignment) return alignment == 512 ? 512 : 0;
    if (::pread(fd, buffer.get(), alignment, 0) == static_cast<ssize_t>(alignment)) return alignment;
    if (errno != EINVAL) return 0;
  }
  return 0;
}

// The first bytes of the image, for its format's magic number; fewer (or
// none) when it is shorter or cannot be read, which later checks report.
// With O_DIRECT the read must be aligned: a whole 512- or 4096-byte block
// into an aligned buffer.
std::string read_head(int fd, uint64_t size, DiskCache cache) {
  constexpr size_t kHead = 4;
  if (cache != DiskCache::kNone) {
    char head[kHead] = {};
    const ssize_t got = ::pread(fd, head, kHead, 0);
    return got > 0 ? std::string(head, static_cast<size_t>(got)) : std::string();
  }
  constexpr size_t kMax = 4096;
  std::unique_ptr<void, decltype(&std::free)> buffer(std::aligned_alloc(kMax, kMax), &std::free);
  if (!buffer) return {};
  for (const size_t block : {size_t{512}, kMax}) {
    if (size < block) return {};
    if (::pread(fd, buffer.get(), block, 0) == static_cast<ssize_t>(block)) {
      return std::string(static_cast<const char*>(buffer.get()), kHead);
    }
  }
  return {};
}

// kvmm's disks are raw: a qcow2 image's header and tables would reach the
// guest as its disk's first sectors, and its writes would corrupt the image.
// qcow2's header starts with "QFI\xfb" (QEMU docs/interop/qcow2.txt).
void refuse_image_format(const std::string& path, const std::string& head) {
  if (head == std::string("QFI\xfb", 4)) {
    refuse(path, "is a qcow2 image, and kvmm reads disks as raw images; convert it: "
                 "qemu-img convert -O raw " + path + " " + path + ".raw");
  }
}

}  // namespace

DiskImage DiskImage::open(const DiskOptions& options) {
  DiskImage image;
  image.path_ = options.path;
  image.access_ = options.access;
  image.cache_ = options.cache;
  const std::string& path = options.path;

  int flags = O_CLOEXEC | (options.access == DiskAccess::kReadOnly ? O_RDONLY : O_RDWR);
  // Look before opening with O_DIRECT, so a directory or FIFO gets its own
  // message and opening a FIFO never blocks.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) refuse_open(path, options.access, errno);
  if (S_ISDIR(st.st_mode)) refuse_open(path, options.access, EISDIR);
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    refuse(path, "is not a regular file or block device; give a disk image file or a block device");
  }
  if (options.cache == DiskCache::kNone) flags |= O_DIRECT;
  // A block device written by the guest must not be mounted on the host nor
  // open exclusively elsewhere: O_EXCL without O_CREAT on a block device
  // takes the kernel's exclusive claim (open(2)), EBUSY if someone holds it.
  const bool exclusive = S_ISBLK(st.st_mode) && options.access != DiskAccess::kReadOnly;
  if (exclusive) flags |= O_EXCL;

  image.fd_ = UniqueFd(::open(path.c_str(), flags));
  if (!image.fd_.valid()) {
    const int err = errno;
    if (err == EBUSY && exclusive) refuse(path, block_device_busy_reason(path, st.st_rdev));
    if (err == EINVAL && options.cache == DiskCache::kNone) {
      refuse(path, "its file system refuses O_DIRECT (cache=none); use cache=writeback");
    }
    refuse_open(path, options.access, err);
  }
  const int fd = image.fd_.get();

  // The lock comes before the size: a locked image is the likelier problem.
  const int lock = options.access == DiskAccess::kReadOnly ? LOCK_SH : LOCK_EX;
  if (::flock(fd, lock | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      refuse(path, options.access == DiskAccess::kReadOnly
                       ? "is in use by another process (locked read-write); stop it, or have every user pass ,ro"
                       : "is in use by another process (locked); stop it or pass ,ro to share it read-only");
    }
    refuse(path, std::string("cannot lock: ") + std::strerror(errno));
  }
  // And an open file description lock, the kind QEMU takes (and honours):
  // flock() and fcntl() locks do not see each other, so without it a QEMU and
  // a kvmm could write one image at once. Whole file; released on close.
  struct flock ofd {};
  ofd.l_type = options.access == DiskAccess::kReadOnly ? F_RDLCK : F_WRLCK;
  ofd.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_SETLK, &ofd) != 0) {
    if (errno == EAGAIN || errno == EACCES) {
      refuse(path, options.access == DiskAccess::kReadOnly
                       ? "is in use by another process (locked read-write, fcntl); stop it, or have every user pass ,ro"
                       : "is in use by another process (locked, fcntl); stop it or pass ,ro to share it read-only");
    }
    // A file system without fcntl locks (some network ones) keeps flock's.
    if (errno != ENOLCK && errno != EINVAL && errno != EOPNOTSUPP) {
      refuse(path, std::string("cannot lock: ") + std::strerror(errno));
    }
  }

  if (::fstat(fd, &st) != 0) throw_errno("disk " + path + ": fstat failed");
  image.block_device_ = S_ISBLK(st.st_mode);
  if (image.block_device_) {
    uint64_t bytes = 0;
    if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) throw_errno("disk " + path + ": BLKGETSIZE64 failed");
    image.size_bytes_ = bytes;
  } else {
    image.size_bytes_ = static_cast<uint64_t>(st.st_size);
    if (st.st_blksize >= static_cast<blksize_t>(kSectorSize)) {
      image.discard_granularity_ = static_cast<uint32_t>(st.st_blksize);
    }
  }
  if (image.size_bytes_ == 0) {
    refuse(path, "is empty; give it a size first (truncate -s 1G " + path + ")");
  }
  refuse_image_format(path, read_head(fd, image.size_bytes_, options.cache));
  if (image.size_bytes_ % kSectorSize != 0) {
    refuse(path, "is " + std::to_string(image.size_bytes_) +
                     " bytes, not a whole number of 512-byte sectors; round it up: truncate -s %512 " + path);
  }

  if (options.cache == DiskCache::kNone) {
    const uint32_t alignment = probe_direct_alignment(fd, image.size_bytes_);
    if (alignment == 0) refuse(path, "its file system refuses O_DIRECT reads (cache=none); use cache=writeback");
    image.block_size_ = alignment;
  }
  return image;
}

}  // namespace kvmm

// Opening disk images: every mistake gets one line naming the path and the fix.
#include "devices/virtio/block/disk_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/util/error.h"
#include "base/util/unique_fd.h"
#include "devices/virtio/block/disk_options.h"
#include "tests/unit/virtio/block_test_support.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {
DiskOptions options(const std::string& path, DiskAccess access = DiskAccess::kReadWrite,
                    DiskCache cache = DiskCache::kWriteback) {
  return DiskOptions{path, access, "", cache};
}
}  // namespace

TEST_CASE("disk image opens a file and reports its size in sectors") {
  TempImage file(Bytes(8 * 512, 0));
  const DiskImage image = DiskImage::open(options(file.path));
  CHECK(image.size_bytes() == 8 * 512);
  CHECK(image.sectors() == 8);
  CHECK_FALSE(image.read_only());
  CHECK_FALSE(image.block_device());
  CHECK(image.block_size() == 512);
}

TEST_CASE("disk image refuses what is not a usable image") {
  CHECK_THROWS_WITH(DiskImage::open(options("/nonexistent/disk.img")),
                    Catch::Contains("disk /nonexistent/disk.img: no such file"));
  CHECK_THROWS_WITH(DiskImage::open(options("/tmp")), Catch::Contains("is a directory"));
  CHECK_THROWS_WITH(DiskImage::open(options("/dev/null")),
                    Catch::Contains("not a regular file or block device"));
  TempImage empty(Bytes{});
  CHECK_THROWS_WITH(DiskImage::open(options(empty.path)), Catch::Contains("is empty"));
  TempImage odd(Bytes(1000, 0));
  CHECK_THROWS_WITH(DiskImage::open(options(odd.path)),
                    Catch::Contains("not a whole number of 512-byte sectors") &&
                        Catch::Contains("truncate -s %512"));
}

TEST_CASE("disk image refuses a qcow2 image with the qemu-img convert that makes it raw") {
  Bytes qcow2(4096, 0);
  const std::string magic("QFI\xfb", 4);
  std::copy(magic.begin(), magic.end(), qcow2.begin());
  TempImage file(qcow2);
  const std::string path = file.path.string();
  const std::string fix = "qemu-img convert -O raw " + path + " " + path + ".raw";
  for (const DiskAccess access : {DiskAccess::kReadWrite, DiskAccess::kReadOnly}) {
    CHECK_THROWS_WITH(DiskImage::open(options(path, access)),
                      Catch::Contains("is a qcow2 image") && Catch::Contains(fix));
  }
  // Only at offset 0: a raw image holding those bytes further on is a disk.
  Bytes raw(4096, 0);
  std::copy(magic.begin(), magic.end(), raw.begin() + 512);
  TempImage plain(raw);
  CHECK(DiskImage::open(options(plain.path)).sectors() == 8);
}

TEST_CASE("disk image without write permission is refused read-write and opens read-only") {
  if (::geteuid() == 0) {
    WARN("running as root, which ignores file permissions; skipped");
    return;
  }
  TempImage file(Bytes(512, 0));
  ::chmod(file.path.c_str(), 0444);
  CHECK_THROWS_WITH(DiskImage::open(options(file.path)),
                    Catch::Contains("permission denied") && Catch::Contains(",ro"));
  CHECK(DiskImage::open(options(file.path, DiskAccess::kReadOnly)).read_only());
}

TEST_CASE("disk image locks: one writer or many readers") {
  TempImage file(Bytes(512, 0));
  {
    const DiskImage writer = DiskImage::open(options(file.path));
    CHECK_THROWS_WITH(DiskImage::open(options(file.path)),
                      Catch::Contains("is in use by another process (locked); stop it or pass ,ro"));
    CHECK_THROWS_WITH(DiskImage::open(options(file.path, DiskAccess::kReadOnly)),
                      Catch::Contains("in use by another process"));
  }
  {
    const DiskImage reader1 = DiskImage::open(options(file.path, DiskAccess::kReadOnly));
    const DiskImage reader2 = DiskImage::open(options(file.path, DiskAccess::kReadOnly));
    CHECK(reader1.read_only());
    CHECK(reader2.read_only());
    CHECK_THROWS_WITH(DiskImage::open(options(file.path)), Catch::Contains("in use by another process"));
  }
  // Released when the images close.
  CHECK_NOTHROW(DiskImage::open(options(file.path)));
}

TEST_CASE("disk image with cache=none uses O_DIRECT or says the file system refuses it") {
  TempImage file(Bytes(8 * 512, 0));
  try {
    const DiskImage image = DiskImage::open(options(file.path, DiskAccess::kReadWrite, DiskCache::kNone));
    CHECK((image.block_size() == 512 || image.block_size() == 4096));
    CHECK(image.cache() == DiskCache::kNone);
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("refuses O_DIRECT") && Catch::Contains("cache=writeback"));
  }
}

TEST_CASE("disk image honours another process's fcntl (OFD) lock, as QEMU takes it") {
  TempImage file(Bytes(512, 0));
  // What QEMU holds on an image it writes: an open file description lock.
  UniqueFd other(::open(file.path.c_str(), O_RDWR | O_CLOEXEC));
  REQUIRE(other.valid());
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 100;  // QEMU locks single bytes; any overlap conflicts.
  lock.l_len = 1;
  REQUIRE(::fcntl(other.get(), F_OFD_SETLK, &lock) == 0);
  CHECK_THROWS_WITH(DiskImage::open(options(file.path)),
                    Catch::Contains("is in use by another process (locked, fcntl)"));
  CHECK_THROWS_WITH(DiskImage::open(options(file.path, DiskAccess::kReadOnly)),
                    Catch::Contains("in use by another process"));
  other = UniqueFd();
  {
    // And kvmm's own lock stops a fcntl-locking writer.
    const DiskImage image = DiskImage::open(options(file.path, DiskAccess::kReadOnly));
    UniqueFd writer(::open(file.path.c_str(), O_RDWR | O_CLOEXEC));
    REQUIRE(writer.valid());
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    CHECK(::fcntl(writer.get(), F_OFD_SETLK, &probe) != 0);
  }
}

TEST_CASE("disk image refuses a block device someone else holds exclusively (O_EXCL)") {
  // Needs a loop device: root and /dev/loop-control. Skipped otherwise.
  TempImage file(Bytes(64 * 512, 0));
  std::string device;
  if (::geteuid() == 0 && ::access("/dev/loop-control", W_OK) == 0) {
    const std::string command = "losetup -f --show " + file.path.string() + " 2>/dev/null";
    if (FILE* out = ::popen(command.c_str(), "r")) {
      char line[256] = {};
      if (std::fgets(line, sizeof line, out) != nullptr) device = line;
      ::pclose(out);
    }
  }
  while (!device.empty() && (device.back() == '\n')) device.pop_back();
  if (device.empty()) {
    WARN("no loop device can be created here (needs root and /dev/loop-control); skipped");
    return;
  }
  struct Detach {
    std::string device;
    ~Detach() {
      const std::string detach = "losetup -d " + device;
      [[maybe_unused]] int status = std::system(detach.c_str());
    }
  } detach{device};
  {
    // A mounted file system holds the same exclusive claim.
    UniqueFd holder(::open(device.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
    if (holder.valid()) {
      CHECK_THROWS_WITH(DiskImage::open(options(device)),
                        Catch::Contains("is a block device opened exclusively by another process") &&
                            Catch::Contains("fuser -v " + device));
      // Read-only needs no claim.
      CHECK(DiskImage::open(options(device, DiskAccess::kReadOnly)).block_device());
    } else {
      WARN("cannot claim " + device + " exclusively; skipped");
    }
  }
  {
    // And kvmm's claim keeps everyone else's out.
    const DiskImage image = DiskImage::open(options(device));
    CHECK(image.block_device());
    UniqueFd other(::open(device.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
    CHECK_FALSE(other.valid());
  }
}

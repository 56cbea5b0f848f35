// Opening disk images: every mistake gets one line naming the path and the fix.
#include "devices/virtio/block/disk_image.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "base/util/error.h"
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

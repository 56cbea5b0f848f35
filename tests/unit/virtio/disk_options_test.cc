#include "app/cli/device_options.h"

#include <catch2/catch.hpp>

#include "base/util/error.h"

using namespace kvmm;

TEST_CASE("disk options parse a path and its defaults") {
  const DiskOptions options = parse_disk_options("/images/root.img");
  CHECK(options.path == "/images/root.img");
  CHECK(options.access == DiskAccess::kReadWrite);
  CHECK(options.serial.empty());
  CHECK(options.cache == DiskCache::kWriteback);
}

TEST_CASE("disk options parse ro and serial and cache in any order") {
  const DiskOptions options = parse_disk_options("d.img,cache=none,serial=DATA-1,ro");
  CHECK(options.path == "d.img");
  CHECK(options.access == DiskAccess::kReadOnly);
  CHECK(options.serial == "DATA-1");
  CHECK(options.cache == DiskCache::kNone);
  CHECK(parse_disk_options("d.img,cache=writeback").cache == DiskCache::kWriteback);
  CHECK(parse_disk_options("d.img,serial=12345678901234567890").serial.size() == 20);
}

TEST_CASE("disk options name the bad field and the accepted forms") {
  const auto forms = Catch::Contains("PATH[,ro][,serial=S][,cache=none|writeback]");
  CHECK_THROWS_WITH(parse_disk_options(""), Catch::Contains("no image path") && forms);
  CHECK_THROWS_WITH(parse_disk_options(",ro"), Catch::Contains("no image path"));
  CHECK_THROWS_WITH(parse_disk_options("d.img,rw"), Catch::Contains("unknown option 'rw'") && forms);
  CHECK_THROWS_WITH(parse_disk_options("d.img,ro=1"), Catch::Contains("'ro' takes no value"));
  CHECK_THROWS_WITH(parse_disk_options("d.img,ro,ro"), Catch::Contains("'ro' given twice"));
  CHECK_THROWS_WITH(parse_disk_options("d.img,cache=unsafe"), Catch::Contains("cache must be none or writeback"));
  CHECK_THROWS_WITH(parse_disk_options("d.img,cache"), Catch::Contains("cache must be none or writeback"));
  CHECK_THROWS_WITH(parse_disk_options("d.img,serial"), Catch::Contains("serial needs a value"));
  CHECK_THROWS_WITH(parse_disk_options("d.img,serial="), Catch::Contains("serial= is empty"));
  CHECK_THROWS_WITH(parse_disk_options("d.img,serial=123456789012345678901"),
                    Catch::Contains("more than the 20"));
  CHECK_THROWS_WITH(parse_disk_options("d.img,serial=a b"), Catch::Contains("not printable ASCII"));
  CHECK_THROWS_WITH(parse_disk_options("d.img,"), Catch::Contains("empty option"));
  CHECK_THROWS_WITH(parse_disk_options("d.img,,ro"), Catch::Contains("empty option"));
}

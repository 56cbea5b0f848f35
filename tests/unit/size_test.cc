#include "app/cli/size.h"

#include <catch2/catch.hpp>

#include "base/util/error.h"

using kvmm::parse_memory_size;

TEST_CASE("Memory sizes take K, M, G, T suffixes and a bare number is MiB") {
  CHECK(parse_memory_size("64") == 64ULL << 20);
  CHECK(parse_memory_size("512M") == 512ULL << 20);
  CHECK(parse_memory_size("2G") == 2ULL << 30);
  CHECK(parse_memory_size("2g") == 2ULL << 30);
  CHECK(parse_memory_size("1GiB") == 1ULL << 30);
  CHECK(parse_memory_size("4096K") == 4ULL << 20);
  CHECK(parse_memory_size("1T") == 1ULL << 40);
}

TEST_CASE("Memory sizes reject zero, junk, unaligned and huge values") {
  CHECK_THROWS_WITH(parse_memory_size("0"), Catch::Contains("more than 0"));
  CHECK_THROWS_WITH(parse_memory_size("0G"), Catch::Contains("more than 0"));
  CHECK_THROWS_WITH(parse_memory_size(""), Catch::Contains("not a size"));
  CHECK_THROWS_WITH(parse_memory_size("-1M"), Catch::Contains("not a size"));
  CHECK_THROWS_WITH(parse_memory_size("12X"), Catch::Contains("not a size"));
  CHECK_THROWS_WITH(parse_memory_size("1MM"), Catch::Contains("not a size"));
  CHECK_THROWS_WITH(parse_memory_size("3K"), Catch::Contains("multiple of 4K"));
  CHECK_THROWS_WITH(parse_memory_size("2T"), Catch::Contains("larger than kvmm supports"));
  CHECK_THROWS_WITH(parse_memory_size("99999999999999999999999"),
                    Catch::Contains("larger than kvmm supports"));
}

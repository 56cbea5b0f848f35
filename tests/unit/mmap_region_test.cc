// Guest RAM's mapping (base/memory/mmap_region.h): 2 MiB-aligned, a guard
// page on either side, and all of it gone once the region is destroyed.
#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "base/memory/mmap_region.h"

namespace {

struct Mapping {
  uintptr_t start = 0, end = 0;
  std::string perms;
};

// The mapping in /proc/self/maps that holds `at`, if any.
std::optional<Mapping> mapping_at(uintptr_t at) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    Mapping m;
    char dash = 0;
    in >> std::hex >> m.start >> dash >> m.end >> m.perms;
    if (m.start <= at && at < m.end) return m;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("guest RAM is 2 MiB-aligned between two inaccessible guard pages") {
  constexpr size_t kSize = size_t{6} << 20;
  constexpr size_t kGuard = kvmm::MmapRegion::kGuardSize;
  uintptr_t start = 0;
  {
    kvmm::MmapRegion ram = kvmm::MmapRegion::anonymous(kSize);
    start = reinterpret_cast<uintptr_t>(ram.data());
    CHECK(start % kvmm::MmapRegion::kHugePageSize == 0);
    CHECK(ram.size() == kSize);
    ram.data()[0] = 1;
    ram.data()[kSize - 1] = 2;  // The whole size is usable.

    const auto below = mapping_at(start - 1);
    REQUIRE(below);
    CHECK(below->perms == "---p");
    CHECK(below->start == start - kGuard);
    CHECK(below->end == start);
    const auto above = mapping_at(start + kSize);
    REQUIRE(above);
    CHECK(above->perms == "---p");
    CHECK(above->start == start + kSize);
    CHECK(above->end == start + kSize + kGuard);
    const auto ram_mapping = mapping_at(start);
    REQUIRE(ram_mapping);
    CHECK(ram_mapping->perms == "rw-p");
  }
  // Destroyed: the guards went with the RAM.
  CHECK_FALSE(mapping_at(start - kGuard));
  CHECK_FALSE(mapping_at(start));
  CHECK_FALSE(mapping_at(start + kSize));
}

TEST_CASE("a moved guest RAM region unmaps its guards once") {
  kvmm::MmapRegion first = kvmm::MmapRegion::anonymous(size_t{2} << 20);
  const auto start = reinterpret_cast<uintptr_t>(first.data());
  kvmm::MmapRegion second = std::move(first);
  CHECK(first.data() == nullptr);
  REQUIRE(mapping_at(start - kvmm::MmapRegion::kGuardSize));
  second = kvmm::MmapRegion();
  CHECK_FALSE(mapping_at(start - kvmm::MmapRegion::kGuardSize));
  CHECK_FALSE(mapping_at(start));
}

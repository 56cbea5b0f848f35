#include "vmm/boot/linux/e820.h"

#include <catch2/catch.hpp>

#include "vmm/arch/x86/layout.h"

using namespace kvmm;

namespace {

bool sorted_and_disjoint(const std::vector<E820Range>& map) {
  for (size_t i = 1; i < map.size(); ++i) {
    if (map[i - 1].address + map[i - 1].size > map[i].address) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("e820: low RAM is split around the legacy hole below 1 MiB") {
  const std::vector<E820Range> map = build_e820_map(256 * kMiB);
  const std::vector<E820Range> expected = {
      {0, 0x9fc00, E820Type::kRam},
      {0x9fc00, 0x100000 - 0x9fc00, E820Type::kReserved},
      {0x100000, 256 * kMiB - 0x100000, E820Type::kRam},
  };
  CHECK(map == expected);
}

TEST_CASE("e820: exactly 1 MiB has no RAM above the hole") {
  const std::vector<E820Range> map = build_e820_map(kMiB);
  REQUIRE(map.size() == 2);
  CHECK(map[0] == E820Range{0, 0x9fc00, E820Type::kRam});
  CHECK(map[1] == E820Range{0x9fc00, 0x60400, E820Type::kReserved});
}

TEST_CASE("e820: exactly 3 GiB ends at the MMIO hole") {
  const std::vector<E820Range> map = build_e820_map(3 * kGiB);
  REQUIRE(map.size() == 3);
  CHECK(map[2] == E820Range{0x100000, 3 * kGiB - 0x100000, E820Type::kRam});
}

TEST_CASE("e820: RAM past 3 GiB continues at 4 GiB and the MMIO hole is not listed") {
  const std::vector<E820Range> map = build_e820_map(5 * kGiB);
  REQUIRE(map.size() == 4);
  CHECK(map[2] == E820Range{0x100000, 3 * kGiB - 0x100000, E820Type::kRam});
  CHECK(map[3] == E820Range{4 * kGiB, 2 * kGiB, E820Type::kRam});
  CHECK(sorted_and_disjoint(map));
  uint64_t ram = 0;
  for (const E820Range& range : map) {
    if (range.type == E820Type::kRam) ram += range.size;
  }
  // Everything but the reserved legacy hole is usable RAM.
  CHECK(ram == 5 * kGiB - (0x100000 - 0x9fc00));
}

TEST_CASE("e820: less than the conventional 639 KiB lists only what exists") {
  const std::vector<E820Range> map = build_e820_map(0x40000);
  REQUIRE(map.size() == 2);
  CHECK(map[0] == E820Range{0, 0x40000, E820Type::kRam});
  CHECK(map[1].type == E820Type::kReserved);
}

TEST_CASE("e820: the map agrees with make_guest_memory's regions") {
  for (uint64_t ram : {64 * kMiB, 3 * kGiB, 3 * kGiB + 2 * kMiB}) {
    GuestMemory memory = make_guest_memory(ram);
    for (const E820Range& range : build_e820_map(ram)) {
      if (range.type != E820Type::kRam) continue;
      CHECK(memory.slice(GuestAddress{range.address}, range.size).has_value());
    }
  }
}

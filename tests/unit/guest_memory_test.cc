#include "base/memory/guest_memory.h"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "base/util/error.h"

using kvmm::GuestAddress;
using kvmm::GuestMemory;

namespace {
GuestMemory two_regions() {
  // [0x0, 0x10000) and [0x20000, 0x21000), with a gap between.
  GuestMemory memory;
  memory.add_region(GuestAddress{0x20000}, 0x1000);
  memory.add_region(GuestAddress{0}, 0x10000);
  return memory;
}
}  // namespace

TEST_CASE("GuestMemory accepts ranges that lie wholly inside one region") {
  GuestMemory memory = two_regions();
  CHECK(memory.slice(GuestAddress{0}, 0x10000).has_value());
  CHECK(memory.slice(GuestAddress{0xfff0}, 0x10).has_value());
  CHECK(memory.slice(GuestAddress{0x20000}, 0x1000).has_value());
  CHECK(memory.slice(GuestAddress{0x20fff}, 1).has_value());
  // An empty range at the very end of a region is fine.
  CHECK(memory.slice(GuestAddress{0x10000}, 0).has_value());
}

TEST_CASE("GuestMemory refuses ranges that run past a region's end") {
  GuestMemory memory = two_regions();
  CHECK_FALSE(memory.slice(GuestAddress{0xfff1}, 0x10).has_value());
  CHECK_FALSE(memory.slice(GuestAddress{0}, 0x10001).has_value());
  CHECK_FALSE(memory.slice(GuestAddress{0x20fff}, 2).has_value());
}

TEST_CASE("GuestMemory refuses ranges in or across the gap between regions") {
  GuestMemory memory = two_regions();
  CHECK_FALSE(memory.slice(GuestAddress{0x10000}, 1).has_value());
  CHECK_FALSE(memory.slice(GuestAddress{0x18000}, 4).has_value());
  // Starts in region 0 and ends in region 1: the gap in between is not RAM.
  CHECK_FALSE(memory.slice(GuestAddress{0xf000}, 0x11000).has_value());
  CHECK_FALSE(memory.slice(GuestAddress{0x1fffc}, 8).has_value());
}

TEST_CASE("GuestMemory arithmetic does not overflow on hostile addresses and lengths") {
  GuestMemory memory = two_regions();
  CHECK_FALSE(memory.slice(GuestAddress{UINT64_MAX}, 1).has_value());
  CHECK_FALSE(memory.slice(GuestAddress{UINT64_MAX - 3}, 8).has_value());
  // gpa + len wraps to a small in-range value: must still be refused.
  CHECK_FALSE(memory.slice(GuestAddress{0x100}, UINT64_MAX).has_value());
  CHECK_FALSE(memory.slice(GuestAddress{0x100}, UINT64_MAX - 0xff).has_value());
  CHECK_FALSE(memory.slice(GuestAddress{0x20000}, UINT64_MAX - 0x1ffff).has_value());
}

TEST_CASE("GuestMemory does not treat adjacent regions as one") {
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, 0x1000);
  memory.add_region(GuestAddress{0x1000}, 0x1000);
  CHECK(memory.slice(GuestAddress{0x1000}, 0x1000).has_value());  // Second region alone.
  CHECK(memory.slice(GuestAddress{0xffc}, 4).has_value());
  CHECK_FALSE(memory.slice(GuestAddress{0xffc}, 8).has_value());  // Across the seam.
}

TEST_CASE("GuestMemory reads back what it wrote, and a refused write changes nothing") {
  GuestMemory memory = two_regions();
  REQUIRE(memory.write_obj(GuestAddress{0x20ff8}, uint64_t{0x1122334455667788}));
  CHECK(memory.read_obj<uint64_t>(GuestAddress{0x20ff8}) == 0x1122334455667788);
  CHECK(memory.read_obj<uint8_t>(GuestAddress{0x20ff8}) == 0x88);  // Little-endian.

  const std::array<uint8_t, 16> bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  CHECK_FALSE(memory.write(GuestAddress{0xfff8}, bytes));
  CHECK(memory.read_obj<uint64_t>(GuestAddress{0xfff8}) == 0);  // Nothing partial.
  CHECK_FALSE(memory.read_obj<uint64_t>(GuestAddress{0x20ffc}).has_value());
}

TEST_CASE("GuestMemory rejects bad regions at setup") {
  GuestMemory memory;
  memory.add_region(GuestAddress{0x1000}, 0x2000);
  CHECK_THROWS_AS(memory.add_region(GuestAddress{0x5000}, 0), kvmm::Error);
  CHECK_THROWS_AS(memory.add_region(GuestAddress{0x2000}, 0x1000), kvmm::Error);  // Inside.
  CHECK_THROWS_AS(memory.add_region(GuestAddress{0}, 0x1001), kvmm::Error);       // Tail overlaps.
  CHECK_THROWS_AS(memory.add_region(GuestAddress{UINT64_MAX - 0xfff}, 0x2000), kvmm::Error);
  memory.add_region(GuestAddress{0}, 0x1000);  // Touching is not overlapping.
  CHECK(memory.total_size() == 0x3000);
}

TEST_CASE("GuestMemory flushes a page of RAM and keeps its contents") {
  GuestMemory memory = two_regions();
  const std::array<uint8_t, 4> data{1, 2, 3, 4};
  REQUIRE(memory.write(GuestAddress{0x1ffe}, data));  // Across two pages.
  CHECK(memory.flush_page(GuestAddress{0x1000}));
  CHECK(memory.flush_page(GuestAddress{0x20000}));
  std::array<uint8_t, 4> read{};
  REQUIRE(memory.read(GuestAddress{0x1ffe}, read));  // Still readable ...
  CHECK(read == data);
  REQUIRE(memory.write(GuestAddress{0x1000}, data));  // ... and writable.
}

TEST_CASE("GuestMemory refuses to flush an unaligned page or one outside RAM") {
  GuestMemory memory = two_regions();
  CHECK_FALSE(memory.flush_page(GuestAddress{0x1001}));
  CHECK_FALSE(memory.flush_page(GuestAddress{0x10000}));  // The gap.
  CHECK_FALSE(memory.flush_page(GuestAddress{0x21000}));  // Past the end.
  CHECK_FALSE(memory.flush_page(GuestAddress{0xffff'ffff'ffff'f000}));
}

namespace {
// The VmFlags line of /proc/self/smaps for the mapping that starts at `addr`.
std::string vm_flags_of(const void* addr) {
  std::ifstream smaps("/proc/self/smaps");
  std::ostringstream want;
  want << std::hex << reinterpret_cast<uintptr_t>(addr) << '-';
  bool in_mapping = false;
  for (std::string line; std::getline(smaps, line);) {
    if (line.rfind(want.str(), 0) == 0) in_mapping = true;
    if (in_mapping && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}
}  // namespace

TEST_CASE("guest RAM starts on a 2 MiB host boundary and is advised for huge pages") {
  for (const uint64_t size : {uint64_t{0x10000}, uint64_t{6} << 20, uint64_t{64} << 20}) {
    GuestMemory memory;
    memory.add_region(GuestAddress{0}, size);
    const uint8_t* host = memory.regions().front().mapping.data();
    INFO("size " << size);
    CHECK(reinterpret_cast<uintptr_t>(host) % (uint64_t{2} << 20) == 0);
    const std::string flags = vm_flags_of(host);
    CHECK(flags.find(" hg") != std::string::npos);  // MADV_HUGEPAGE
    CHECK(flags.find(" dd") != std::string::npos);  // MADV_DONTDUMP
    // Every byte is there, and zero.
    CHECK(memory.read_obj<uint8_t>(GuestAddress{size - 1}) == uint8_t{0});
  }
}

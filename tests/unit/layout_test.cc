#include "vmm/arch/x86/layout.h"

#include <catch2/catch.hpp>

using namespace kvmm;

TEST_CASE("RAM up to 3 GiB is one region from 0") {
  GuestMemory memory = make_guest_memory(256 * kMiB);
  REQUIRE(memory.regions().size() == 1);
  CHECK(memory.regions()[0].base.value == 0);
  CHECK(memory.regions()[0].size() == 256 * kMiB);
}

TEST_CASE("RAM beyond 3 GiB continues above 4 GiB, leaving the MMIO hole") {
  GuestMemory memory = make_guest_memory(5 * kGiB);
  REQUIRE(memory.regions().size() == 2);
  CHECK(memory.regions()[0].size() == 3 * kGiB);
  CHECK(memory.regions()[1].base == kHighRamStart);
  CHECK(memory.regions()[1].size() == 2 * kGiB);
  CHECK(memory.total_size() == 5 * kGiB);
  CHECK_FALSE(memory.slice(kMmioHoleStart, 1).has_value());
  CHECK_FALSE(memory.slice(kTssAddress, 1).has_value());
}

// Planted bugs that show a sanitizer tree's runtime is live: tools/sanitize
// runs this hidden test case before the unit tests and expects it to be
// stopped with the sanitizer's report. Never run otherwise (the tag begins
// with '.', so neither ctest nor a plain unit_tests run lists it).
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <thread>

#include <catch2/catch.hpp>

namespace {

// Read through a volatile pointer so no compiler proves the bugs away.
int racy_counter = 0;

void race() {
  auto bump = [] {
    for (int i = 0; i < 100000; ++i) {
      int* volatile p = &racy_counter;
      *p = *p + 1;
    }
  };
  std::thread a(bump), b(bump);
  a.join();
  b.join();
}

int heap_overflow() {
  auto bytes = std::make_unique<int[]>(4);
  int* volatile p = bytes.get();
  return p[4];
}

int signed_overflow() {
  volatile int big = 0x7fffffff;
  return big + 1;
}

}  // namespace

TEST_CASE("sanitizer canary: a planted bug of the kind KVMM_SANITIZER_CANARY names",
          "[.canary][threads]") {
  const char* kind = std::getenv("KVMM_SANITIZER_CANARY");
  REQUIRE(kind != nullptr);
  const std::string_view which(kind);
  if (which == "race") race();
  if (which == "heap-overflow") CHECK(heap_overflow() != 12345);
  if (which == "signed-overflow") CHECK(signed_overflow() != 0);
  // Reaching here means the runtime let the planted bug through.
  FAIL("KVMM_SANITIZER_CANARY=" << which << " was not stopped by a sanitizer");
}

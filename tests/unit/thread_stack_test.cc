// Thread stacks in small pages (base/util/thread_stack.h): the stack
// mapping a thread gets, and its huge-page advice, read back from
// /proc/self/smaps.
#include <pthread.h>
#include <sys/mman.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "base/util/thread_stack.h"

namespace {

struct Mapping {
  uintptr_t start = 0, end = 0;
  std::string flags;  // VmFlags
};

// The mapping of /proc/self/smaps that holds `address`.
Mapping mapping_of(const void* address) {
  const auto at = reinterpret_cast<uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  Mapping current;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t start = 0, end = 0;
    char dash = 0;
    std::istringstream header(line);
    if (header >> std::hex >> start >> dash >> end && dash == '-') {
      inside = start <= at && at < end;
      current = {start, end, {}};
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      current.flags = line;
      return current;
    }
  }
  return {};
}

}  // namespace

TEST_CASE("a thread's stack is advised out of huge pages and is no multiple of 2 MiB",
          "[threads]") {
  pthread_attr_t saved;
  REQUIRE(::pthread_getattr_default_np(&saved) == 0);
  kvmm::set_default_thread_stack();
  Mapping before, after;
  std::thread([&] {
    int local = 0;
    before = mapping_of(&local);
    // The opposite advice first (glibc may hand out a cached stack that
    // already has the advice), so only the call under test can set it.
    ::madvise(reinterpret_cast<void*>(before.start), before.end - before.start, MADV_HUGEPAGE);
    before = mapping_of(&local);
    kvmm::keep_stack_in_small_pages();
    after = mapping_of(&local);
  }).join();
  ::pthread_setattr_default_np(&saved);
  ::pthread_attr_destroy(&saved);

  REQUIRE(before.end > before.start);
  INFO(before.flags);
  CHECK(before.flags.find(" nh") == std::string::npos);
  // The stack above glibc's guard page: 8 MiB less 64 KiB, so that the
  // kernel does not align it to a huge page.
  CHECK(before.end - before.start == (8u << 20) - (64u << 10));
  CHECK((before.end - before.start) % (2u << 20) != 0);
  INFO(after.flags);
  CHECK(after.flags.find(" nh") != std::string::npos);
  CHECK(after.start == before.start);
  CHECK(after.end == before.end);
}

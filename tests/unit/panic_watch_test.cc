#include "vmm/machine/panic_watch.h"

#include <catch2/catch.hpp>

#include <string>

using kvmm::PanicWatch;

namespace {
void feed(PanicWatch& watch, const std::string& text) {
  for (char c : text) watch.feed(static_cast<uint8_t>(c));
}
}  // namespace

TEST_CASE("PanicWatch finds Linux's panic line in console output") {
  PanicWatch watch;
  feed(watch, "[    1.0] Run /init as init process\r\n");
  CHECK_FALSE(watch.panic_reason().has_value());
  feed(watch, "[    2.0] Kernel panic - not syncing: sysrq triggered crash\r\n[    2.1] CPU: 0");
  REQUIRE(watch.panic_reason().has_value());
  CHECK(*watch.panic_reason() == "sysrq triggered crash");
}

TEST_CASE("PanicWatch recovers from partial matches and reports the first panic") {
  PanicWatch watch;
  feed(watch, "KKernel panicKernel panic - not syncing: first\n");
  feed(watch, "Kernel panic - not syncing: second\n");
  CHECK(watch.panic_reason() == "first");
}

TEST_CASE("PanicWatch waits for the end of the line and bounds the reason") {
  PanicWatch watch;
  feed(watch, "Kernel panic - not syncing: VFS");
  CHECK_FALSE(watch.panic_reason().has_value());
  feed(watch, std::string(500, 'x'));
  REQUIRE(watch.panic_reason().has_value());
  CHECK(watch.panic_reason()->size() == PanicWatch::kMaxReason);
}

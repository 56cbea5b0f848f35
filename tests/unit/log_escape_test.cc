// Guest bytes in kvmm's log lines: printable ASCII passes, everything else
// (escape sequences, CR/LF, NUL, UTF-8, the backslash) becomes \xNN.
#include "base/util/log_escape.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "vmm/machine/panic_watch.h"

using namespace kvmm;

TEST_CASE("escape_for_log keeps printable ASCII and escapes every other byte") {
  CHECK(escape_for_log(std::string_view("sysrq triggered crash ~!@#$%^&*()_+{}|:<>?")) ==
        "sysrq triggered crash ~!@#$%^&*()_+{}|:<>?");
  CHECK(escape_for_log(std::string_view("\x1b[2J\x1b]0;owned\x07")) ==
        "\\x1b[2J\\x1b]0;owned\\x07");
  CHECK(escape_for_log(std::string_view("a\rkvmm: fake\nb")) == "a\\x0dkvmm: fake\\x0ab");
  CHECK(escape_for_log(std::string_view("back\\slash")) == "back\\x5cslash");
  CHECK(escape_for_log(std::string_view("\x7f\x80\xff", 3)) == "\\x7f\\x80\\xff");
  CHECK(escape_for_log(std::string_view("nul\0byte", 8)) == "nul\\x00byte");
  const std::vector<uint8_t> all = [] {
    std::vector<uint8_t> bytes;
    for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<uint8_t>(b));
    return bytes;
  }();
  const std::string escaped = escape_for_log(all);
  for (char c : escaped) {
    CHECK(c >= 0x20);
    CHECK(c <= 0x7e);
  }
  CHECK(escaped.size() == (256 - 94) * 4 + 94);  // 94 printable bytes pass; '\\' and the rest take 4.
  CHECK(escape_for_log(std::string_view()).empty());
}

TEST_CASE("a guest's panic reason reaches kvmm's log escaped") {
  PanicWatch watch;
  for (char c : std::string_view("Kernel panic - not syncing: \x1b[31mred\x1b[0m\tend\n")) {
    watch.feed(static_cast<uint8_t>(c));
  }
  REQUIRE(watch.panic_reason().has_value());
  CHECK(*watch.panic_reason() == "\\x1b[31mred\\x1b[0m\\x09end");
}

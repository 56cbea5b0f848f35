// base/util/rate_limited_log.h: the one policy for guest-triggered log lines.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "base/util/rate_limited_log.h"

using namespace kvmm;
using namespace std::chrono_literals;

namespace {

struct Captured {
  std::vector<std::string> lines;
  RateLimitedLog::Sink sink() {
    return [this](std::string_view line) { lines.emplace_back(line); };
  }
};

const RateLimitedLog::Clock::time_point kStart = RateLimitedLog::Clock::time_point() + 1000s;

}  // namespace

TEST_CASE("the rate-limited log passes a burst, then counts the rest") {
  Captured out;
  RateLimitedLog log("dev0: ", out.sink());
  for (unsigned i = 0; i < RateLimitedLog::kBurst + 3; ++i) {
    log.log("bad request " + std::to_string(i), kStart + std::chrono::milliseconds(i));
  }
  REQUIRE(out.lines.size() == RateLimitedLog::kBurst);
  CHECK(out.lines.front() == "dev0: bad request 0");
  CHECK(out.lines.back() == "dev0: bad request " + std::to_string(RateLimitedLog::kBurst - 1));

  // The next interval: first the count of what was dropped, then a new burst.
  log.log("later", kStart + RateLimitedLog::kInterval + 1ms);
  REQUIRE(out.lines.size() == RateLimitedLog::kBurst + 2);
  CHECK(out.lines[RateLimitedLog::kBurst] == "dev0: 3 similar messages suppressed");
  CHECK(out.lines.back() == "dev0: later");
}

TEST_CASE("the rate-limited log reports what it suppressed when destroyed") {
  Captured out;
  {
    RateLimitedLog log("", out.sink());
    for (unsigned i = 0; i < RateLimitedLog::kBurst; ++i) log.log("x", kStart);
    log.suppress(kStart);
    log.suppress(kStart + 1ms);
    CHECK(out.lines.size() == RateLimitedLog::kBurst);
  }
  REQUIRE(out.lines.size() == RateLimitedLog::kBurst + 1);
  CHECK(out.lines.back() == "2 similar messages suppressed");
}

TEST_CASE("the rate-limited log says nothing extra when nothing was dropped") {
  Captured out;
  {
    RateLimitedLog log("p: ", out.sink());
    log.log("one", kStart);
    log.log("two", kStart + 5s);
  }
  CHECK(out.lines == std::vector<std::string>{"p: one", "p: two"});
}

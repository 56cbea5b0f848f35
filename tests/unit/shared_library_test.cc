// Libraries opened at run time (base/util/shared_library.h): what a user
// is told when one is missing or is not the library kvmm expects.
#include <catch2/catch.hpp>
#include <string>

#include "base/util/error.h"
#include "base/util/shared_library.h"

using Catch::Matchers::Contains;

TEST_CASE("a library that cannot be loaded is one line with the path, reason and hint") {
  try {
    kvmm::SharedLibrary library("/nonexistent/libnothing.so.0", "apt-get install nothing");
    FAIL("loaded a library that does not exist");
  } catch (const kvmm::Error& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Contains("cannot load /nonexistent/libnothing.so.0 ("));
    CHECK_THAT(message, Contains("No such file"));
    CHECK_THAT(message, Contains("): apt-get install nothing"));
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("a library's symbols are found, and a missing one is named") {
  // libc is loaded already; dlopen finds it by its soname.
  const kvmm::SharedLibrary libc("libc.so.6", "reinstall libc6");
  using Strlen = unsigned long (*)(const char*);
  CHECK(libc.symbol<Strlen>("strlen")("four") == 4);
  CHECK_THROWS_WITH(libc.symbol<Strlen>("kvmm_no_such_symbol"),
                    Contains("libc.so.6 has no symbol kvmm_no_such_symbol") &&
                        Contains("reinstall libc6"));
}

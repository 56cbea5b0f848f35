// The quick subset (label kvm-smoke): proves a host, native or nested,
// really runs guests.
#include <catch2/catch.hpp>

#include "tests/kvm/guest_runner.h"

using namespace kvmm::testing;

TEST_CASE("kvmm check passes on this host") {
  const auto r = run_process({KVMM_BINARY, "check"});
  INFO(r.out << r.err);
  CHECK(r.exit_status == 0);
  CHECK(r.out.find("PASS  a test guest ran") != std::string::npos);
  CHECK(r.out.find("FAIL") == std::string::npos);
}

TEST_CASE("hello in long mode, entered by kvmm") {
  const auto run = run_guest("hello_long", "long");
  CHECK(run.result.exit_status == 0);
  CHECK(run.result.out == "Hello from long mode!\n");
  CHECK(run.result.err.empty());
  CHECK(run.exits == print_exits("Hello from long mode!\n") + "vcpu0 hlt\n");
}

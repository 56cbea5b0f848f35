// kvmm check's parts that need no KVM: the device-node checks, the
// transparent huge page policy, and the JSON that --json prints.
#include "app/cli/host_check.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/support/test_files.h"

using namespace kvmm;
using kvmm::testing::TempFile;

TEST_CASE("host check: a device node that opens passes, naming what it is for") {
  const HostCheck check = check_device_node("null", "/dev/null", "nothing", "none");
  CHECK(check.name == "null");
  CHECK(check.status == CheckStatus::kPass);
  CHECK(check.message == "/dev/null opens read-write (nothing)");
}

TEST_CASE("host check: a missing device node warns with the module to load") {
  const HostCheck check =
      check_device_node("vhost-net", "/nonexistent/vhost-net", "--net ...,vhost=on", "vhost_net");
  CHECK(check.status == CheckStatus::kWarn);
  CHECK(check.message ==
        "/nonexistent/vhost-net is missing (No such file or directory): --net ...,vhost=on "
        "cannot work; load the module: sudo modprobe vhost_net");
}

TEST_CASE("host check: the transparent huge page policy is the bracketed word") {
  CHECK(bracketed_choice("always [madvise] never") == "madvise");
  CHECK(bracketed_choice("[always] madvise never\n") == "always");
  CHECK(bracketed_choice("always madvise never").empty());
  CHECK(bracketed_choice("always [madvise").empty());
  CHECK(bracketed_choice("").empty());

  TempFile always("[always] madvise never\n");
  const HostCheck huge = check_transparent_hugepages(always.path.string());
  CHECK(huge.name == "transparent-hugepages");
  CHECK(huge.status == CheckStatus::kInfo);
  CHECK(huge.message.find("always") != std::string::npos);
  CHECK(huge.message.find("2 MiB pages, fewer TLB misses") != std::string::npos);

  TempFile madvise("always [madvise] never\n");
  const HostCheck small = check_transparent_hugepages(madvise.path.string());
  CHECK(small.status == CheckStatus::kInfo);
  CHECK(small.message.find("madvise") != std::string::npos);
  CHECK(small.message.find("echo always | sudo tee " + madvise.path.string()) != std::string::npos);

  const HostCheck unreadable = check_transparent_hugepages("/nonexistent/enabled");
  CHECK(unreadable.status == CheckStatus::kWarn);
  CHECK(unreadable.message.find("cannot read the policy in /nonexistent/enabled") !=
        std::string::npos);
}

TEST_CASE("host check: --json is one object, ok false exactly when a check failed") {
  const std::vector<HostCheck> checks = {
      {"kvm-device", CheckStatus::kFail, "/dev/kvm does not exist: \"quoted\""},
      {"tun", CheckStatus::kPass, "/dev/net/tun opens read-write (--net tap= and fd=)"},
      {"io_uring", CheckStatus::kWarn, "io_uring is unavailable"},
      {"transparent-hugepages", CheckStatus::kInfo, "transparent huge pages: never"},
  };
  const auto json = nlohmann::json::parse(format_checks_json(checks));
  CHECK(json["ok"] == false);
  REQUIRE(json["checks"].size() == 4);
  CHECK(json["checks"][0] == nlohmann::json({{"name", "kvm-device"},
                                             {"status", "fail"},
                                             {"message", "/dev/kvm does not exist: \"quoted\""}}));
  CHECK(json["checks"][1]["status"] == "pass");
  CHECK(json["checks"][2]["status"] == "warn");
  CHECK(json["checks"][3]["status"] == "info");

  const std::vector<HostCheck> fine(checks.begin() + 1, checks.end());
  CHECK(nlohmann::json::parse(format_checks_json(fine))["ok"] == true);
  CHECK(format_checks_text(fine) ==
        "PASS  /dev/net/tun opens read-write (--net tap= and fd=)\n"
        "WARN  io_uring is unavailable\n"
        "INFO  transparent huge pages: never\n");
}

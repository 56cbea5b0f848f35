// What each kind of kernel gets from --cmdline and --append.
#include "vmm/machine/guest_cmdline.h"

#include <catch2/catch.hpp>

#include <string>

using namespace kvmm;

namespace {

VmConfig config_with(const char* cmdline, const char* append) {
  VmConfig config;
  if (cmdline != nullptr) {
    config.cmdline = cmdline;
    config.cmdline_given = true;
  }
  config.cmdline_append = append;
  return config;
}

}  // namespace

TEST_CASE("guest command line: Linux gets the default line, then --append") {
  CHECK(linux_cmdline(config_with(nullptr, "")).str() == kDefaultCmdline);
  CHECK(linux_cmdline(config_with(nullptr, "root=/dev/vda rw")).str() ==
        std::string(kDefaultCmdline) + " root=/dev/vda rw");
  CHECK(linux_cmdline(config_with("console=ttyS0 pci=off", "quiet")).str() ==
        "console=ttyS0 pci=off quiet");
}

TEST_CASE("guest command line: a Linux --cmdline is taken as written") {
  CHECK(linux_cmdline(config_with("console=ttyS0 root=/dev/vda", "")).str() ==
        "console=ttyS0 root=/dev/vda");
  CHECK(linux_cmdline(config_with("", "")).str().empty());
  CHECK(linux_cmdline(config_with("", "quiet")).str() == "quiet");
}

TEST_CASE("guest command line: Multiboot gets only --cmdline and --append") {
  CHECK(multiboot_cmdline(config_with(nullptr, "")).empty());
  CHECK(multiboot_cmdline(config_with("", "")).empty());
  CHECK(multiboot_cmdline(config_with("cpuid", "")) == "cpuid");
  CHECK(multiboot_cmdline(config_with(nullptr, "-smp 2")) == "-smp 2");
  CHECK(multiboot_cmdline(config_with("cpuid", "extra")) == "cpuid extra");
}

TEST_CASE("guest command line: the console is silent only when --cmdline leaves out console=") {
  const auto silent = [](const VmConfig& config) {
    return linux_console_silent(config, linux_cmdline(config));
  };
  CHECK_FALSE(silent(config_with(nullptr, "quiet")));
  CHECK(silent(config_with("quiet", "")));
  CHECK(silent(config_with("consoleblank=0", "")));
  CHECK_FALSE(silent(config_with("console=ttyS0,115200", "")));
  CHECK_FALSE(silent(config_with("quiet", "console=ttyS0")));
}

#include "vmm/boot/linux/kernel_cmdline.h"

#include <catch2/catch.hpp>

#include <string>

using kvmm::KernelCmdline;

TEST_CASE("Kernel command line: the user's text, then added parameters after a space") {
  KernelCmdline cmdline("console=ttyS0 acpi=off");
  cmdline.add("virtio_mmio.device=512@0xd1000000:5");
  CHECK(cmdline.str() == "console=ttyS0 acpi=off virtio_mmio.device=512@0xd1000000:5");
  CHECK(cmdline.size() == cmdline.str().size());

  KernelCmdline empty("");
  empty.add("quiet");
  CHECK(empty.str() == "quiet");
}

TEST_CASE("Kernel command line: has() matches whole parameters only") {
  const KernelCmdline cmdline("console=ttyS0  noacpi=off\tquiet foo=\"x acpi=off\" acpi=offset");
  CHECK(cmdline.has("console=ttyS0"));
  CHECK(cmdline.has("quiet"));
  CHECK(cmdline.has("foo=\"x acpi=off\""));
  CHECK_FALSE(cmdline.has("acpi=off"));
  CHECK_FALSE(cmdline.has("console"));
  CHECK_FALSE(cmdline.has(""));

  CHECK(KernelCmdline("acpi=off").has("acpi=off"));
  CHECK(KernelCmdline("console=ttyS0 acpi=off panic=-1").has("acpi=off"));
}

TEST_CASE("Kernel command line: NUL bytes and newlines are refused") {
  CHECK_THROWS_WITH(KernelCmdline(std::string("a\0b", 3)),
                    "--cmdline contains a NUL byte, which would end it early: remove it");
  CHECK_THROWS_WITH(KernelCmdline("console=ttyS0\nquiet"),
                    "--cmdline contains a newline: separate the parameters with spaces");
  KernelCmdline cmdline("quiet");
  CHECK_THROWS_WITH(cmdline.add("a b"), Catch::Contains("kvmm bug"));
  CHECK_THROWS_WITH(cmdline.add(""), Catch::Contains("kvmm bug"));
  CHECK_THROWS_WITH(cmdline.add(std::string("a\0b", 3)), Catch::Contains("kvmm bug"));
  CHECK(cmdline.str() == "quiet");
}

TEST_CASE("Kernel command line: the length is checked against the kernel's limit") {
  const KernelCmdline cmdline(std::string(16, 'a'));
  cmdline.check_length(16);
  CHECK_THROWS_WITH(cmdline.check_length(15),
                    "--cmdline is 16 bytes; this kernel accepts at most 15: shorten it");
}

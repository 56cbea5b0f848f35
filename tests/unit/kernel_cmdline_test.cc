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

TEST_CASE("Kernel command line: has_key() finds a parameter by its name, with or without a value") {
  const KernelCmdline cmdline("quiet consoleblank=0 foo=\"x console=ttyS0\" earlyprintk=ttyS0");
  CHECK_FALSE(cmdline.has_key("console"));  // Not consoleblank=, not inside a quoted value.
  CHECK(cmdline.has_key("quiet"));
  CHECK(cmdline.has_key("consoleblank"));
  CHECK(cmdline.has_key("foo"));
  CHECK_FALSE(cmdline.has_key(""));
  CHECK(KernelCmdline("pci=off console=ttyS0,115200").has_key("console"));
  CHECK(KernelCmdline("console=").has_key("console"));
}

TEST_CASE("Kernel command line: --append goes after the line, a space between") {
  using kvmm::join_cmdline;
  CHECK(join_cmdline("console=ttyS0 panic=-1 pci=off", "root=/dev/vda rw") ==
        "console=ttyS0 panic=-1 pci=off root=/dev/vda rw");
  CHECK(join_cmdline("console=ttyS0", "") == "console=ttyS0");
  CHECK(join_cmdline("", "-smp 2") == "-smp 2");  // A Multiboot test's arguments alone.
  CHECK(join_cmdline("", "").empty());
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

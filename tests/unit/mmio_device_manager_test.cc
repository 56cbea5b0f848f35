#include "vmm/machine/mmio_device_manager.h"

#include <catch2/catch.hpp>

#include <string>

using namespace kvmm;

TEST_CASE("virtio-mmio slots: 4 KiB windows from 0xd1000000, IRQs 5-7, 9-12, 14, 15") {
  CHECK(MmioDeviceManager::slot(0).base == GuestAddress{0xd1000000});
  CHECK(MmioDeviceManager::slot(0).irq == 5);
  CHECK(MmioDeviceManager::slot(3).base == GuestAddress{0xd1003000});
  CHECK(MmioDeviceManager::slot(3).irq == 9);
  CHECK(MmioDeviceManager::slot(8).base == GuestAddress{0xd1008000});
  CHECK(MmioDeviceManager::slot(8).irq == 15);
}

TEST_CASE("virtio-mmio slots: at most 9 devices") {
  const MmioDeviceManager nine(9);
  CHECK(nine.count() == 9);
  CHECK_THROWS_WITH(MmioDeviceManager(10),
                    "too many virtio devices (10): kvmm gives each its own interrupt and has 9; "
                    "use fewer --disk/--net options");
}

TEST_CASE("virtio-mmio slots: DSDT entries and command-line fragments describe each slot") {
  const MmioDeviceManager manager(2);
  const std::vector<VirtioMmioDevice> acpi = manager.acpi_devices();
  REQUIRE(acpi.size() == 2);
  CHECK(acpi[1].base == GuestAddress{0xd1001000});
  CHECK(acpi[1].size == 0x200);
  CHECK(acpi[1].irq == 6);

  KernelCmdline cmdline("console=ttyS0 acpi=off");
  manager.add_cmdline_devices(cmdline);
  CHECK(cmdline.str() ==
        "console=ttyS0 acpi=off virtio_mmio.device=512@0xd1000000:5 "
        "virtio_mmio.device=512@0xd1001000:6");

  KernelCmdline unchanged("console=ttyS0");
  MmioDeviceManager(0).add_cmdline_devices(unchanged);
  CHECK(unchanged.str() == "console=ttyS0");
  CHECK(MmioDeviceManager(0).acpi_devices().empty());
}

TEST_CASE("virtio-mmio slots: transports need one opened device per slot") {
  GuestMemory memory = make_guest_memory(2 * kMiB);
  Bus mmio(Bus::Kind::kMmio);
  CHECK_THROWS_WITH(MmioDeviceManager(1).create_transports(memory, mmio, {}),
                    Catch::Contains("kvmm bug"));
  CHECK(MmioDeviceManager(0).create_transports(memory, mmio, {}).size() == 0);
}

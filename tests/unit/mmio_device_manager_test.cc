#include "vmm/machine/mmio_device_manager.h"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <string>

using namespace kvmm;

namespace {

// Only what the transport asks of a device: an ID, no features, one queue;
// it counts pauses and resumes into `paused` when given.
class StubDevice : public VirtioDevice {
 public:
  explicit StubDevice(uint32_t id, int* paused = nullptr) : id_(id), paused_(paused) {}
  uint32_t device_id() const override { return id_; }
  uint64_t device_features() const override { return 0; }
  std::vector<uint16_t> queue_max_sizes() const override { return {8}; }
  void read_config(uint64_t, std::span<uint8_t>) const override {}
  void activate(VirtioActivation) override {}
  void reset() override {}
  void pause() override {
    if (paused_) ++*paused_;
  }
  void resume() override {
    if (paused_) --*paused_;
  }

 private:
  uint32_t id_;
  int* paused_;
};

uint32_t read_register(const Bus& mmio, uint64_t address) {
  std::array<uint8_t, 4> bytes{};
  REQUIRE(mmio.read(address, bytes));
  uint32_t value = 0;
  std::memcpy(&value, bytes.data(), sizeof value);
  return value;
}

}  // namespace

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

TEST_CASE("virtio-mmio slots: each opened device's transport answers at its window") {
  GuestMemory memory = make_guest_memory(2 * kMiB);
  Bus mmio(Bus::Kind::kMmio);
  std::vector<VirtioDeviceEntry> devices;
  devices.push_back({std::make_unique<StubDevice>(2), "virtio-blk0", nullptr});
  devices.push_back({std::make_unique<StubDevice>(1), "virtio-net0", [] { return "net0 counters"; }});
  VirtioMmioDevices placed = MmioDeviceManager(2).create_transports(memory, mmio, std::move(devices));
  CHECK(placed.size() == 2);
  CHECK(read_register(mmio, 0xd1000000 + virtio_mmio::kMagicValue) == virtio_mmio::kMagic);
  CHECK(read_register(mmio, 0xd1000000 + virtio_mmio::kDeviceId) == 2);
  CHECK(read_register(mmio, 0xd1001000 + virtio_mmio::kDeviceId) == 1);
  // Past the 0x200-byte transport, before the next window: nothing.
  std::array<uint8_t, 4> bytes{};
  CHECK_FALSE(mmio.read(0xd1000200, bytes));
  placed.shutdown();
}

TEST_CASE("virtio-mmio slots: pause_all and resume_all reach every device") {
  GuestMemory memory = make_guest_memory(2 * kMiB);
  Bus mmio(Bus::Kind::kMmio);
  int paused[2] = {0, 0};
  std::vector<VirtioDeviceEntry> devices;
  devices.push_back({std::make_unique<StubDevice>(2, &paused[0]), "virtio-blk0", nullptr});
  devices.push_back({std::make_unique<StubDevice>(1, &paused[1]), "virtio-net0", nullptr});
  VirtioMmioDevices placed = MmioDeviceManager(2).create_transports(memory, mmio, std::move(devices));
  placed.pause_all();
  CHECK(paused[0] == 1);
  CHECK(paused[1] == 1);
  placed.resume_all();
  CHECK(paused[0] == 0);
  CHECK(paused[1] == 0);
  placed.shutdown();
}

// VirtioBlock end to end without KVM: a fake driver's queue in a GuestMemory,
// the device's own I/O thread, and a fake interrupt (block_device_rig.h).
#include "devices/virtio/block/virtio_block.h"

#include <dirent.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "devices/virtio/virtqueue.h"
#include "tests/support/test_files.h"
#include "tests/support/virtio_driver.h"
#include "tests/unit/virtio/block_device_rig.h"
#include "tests/unit/virtio/block_test_support.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {

bool thread_named(const std::string& name) {
  DIR* dir = ::opendir("/proc/self/task");
  bool found = false;
  while (dirent* entry = ::readdir(dir)) {
    std::ifstream comm(std::string("/proc/self/task/") + entry->d_name + "/comm");
    std::string line;
    if (std::getline(comm, line) && line == name) found = true;
  }
  ::closedir(dir);
  return found;
}

}  // namespace

TEST_CASE("virtio-blk offers its features and config space") {
  TempImage file(Bytes(100 * 512, 0));
  SECTION("read-write") {
    VirtioBlock device(options_for(file));
    CHECK(device.device_id() == 2);
    CHECK(device.queue_max_sizes() == std::vector<uint16_t>{256});
    const uint64_t features = device.device_features();
    CHECK((features & kVirtioFVersion1) != 0);
    CHECK((features & kVirtioFRingEventIdx) != 0);
    CHECK((features & kVirtioBlkFFlush) != 0);
    CHECK((features & kVirtioBlkFDiscard) != 0);
    CHECK((features & kVirtioBlkFWriteZeroes) != 0);
    CHECK((features & kVirtioBlkFRo) == 0);
    Bytes config(80, 0xff);
    device.read_config(0, config);
    CHECK(field<uint64_t>(config, 0) == 100);  // capacity
    CHECK(field<uint32_t>(config, 12) == VirtioBlock::kSegMax);
    CHECK(field<uint32_t>(config, 20) == 512);  // blk_size
    CHECK(field<uint32_t>(config, 40) == 1);    // max_discard_seg
    CHECK(field<uint32_t>(config, 52) == 1);    // max_write_zeroes_seg
    CHECK(config[56] == 1);                     // write_zeroes_may_unmap
    Bytes tail(8, 0);
    device.read_config(68, tail);  // Past the end reads as the caller's zeros.
    CHECK(tail == Bytes{0, 0, 0, 0, 0, 0, 0, 0});
  }
  SECTION("read-only") {
    VirtioBlock device(options_for(file, DiskAccess::kReadOnly));
    const uint64_t features = device.device_features();
    CHECK((features & kVirtioBlkFRo) != 0);
    CHECK((features & kVirtioBlkFDiscard) == 0);
    CHECK((features & kVirtioBlkFWriteZeroes) == 0);
  }
}

TEST_CASE("virtio-blk default serial is stable and 20 bytes") {
  const std::string serial = VirtioBlock::default_serial("/images/a.img");
  CHECK(serial.size() == 20);
  CHECK(serial.rfind("kvmm", 0) == 0);
  CHECK(serial == VirtioBlock::default_serial("/images/a.img"));
  CHECK(serial != VirtioBlock::default_serial("/images/b.img"));
}

TEST_CASE("virtio-blk serves requests from its queue on its own thread", "[threads]") {
  const BlockIoEngine engine = KVMM_BLOCK_ENGINES();
  TempImage file(pattern(64 * 512, 4));
  VirtioBlock device(options_for(file), 3, engine);
  BlockDeviceRig rig;
  rig.activate(device);
  CHECK(thread_named("virtio-blk3"));

  FakeDriver& driver = rig.driver;
  const Bytes data = pattern(1024, 77);
  const GuestAddress out_header = driver.allocate(16), out_data = driver.allocate(1024, 512),
                     out_status = driver.allocate(1);
  driver.write(out_header, header(kVirtioBlkTOut, 4));
  driver.write(out_data, data);
  const uint16_t write_head = driver.add_chain({{out_header, 16, Access::kReadable},
                                                {out_data, 1024, Access::kReadable},
                                                {out_status, 1, Access::kWritable}});
  const GuestAddress id_header = driver.allocate(16), id_data = driver.allocate(20),
                     id_status = driver.allocate(1);
  driver.write(id_header, header(kVirtioBlkTGetId, 0));
  const uint16_t id_head = driver.add_indirect_chain({{id_header, 16, Access::kReadable},
                                                      {id_data, 20, Access::kWritable},
                                                      {id_status, 1, Access::kWritable}});
  std::vector<UsedElement> used = rig.kick(2);
  REQUIRE(used.size() == 2);
  for (const UsedElement& element : used) {
    if (element.id == write_head) CHECK(element.len == 1);
    if (element.id == id_head) CHECK(element.len == 21);
  }
  CHECK(driver.read(out_status, 1)[0] == kVirtioBlkSOk);
  CHECK(driver.read(id_status, 1)[0] == kVirtioBlkSOk);
  const Bytes id = driver.read(id_data, 20);
  CHECK(std::string(id.begin(), id.end()) == VirtioBlock::default_serial(file.path));
  const Bytes contents = file.contents();
  CHECK(Bytes(contents.begin() + 4 * 512, contents.begin() + 6 * 512) == data);

  // Read it back, then a bad chain (a writable buffer before a readable one).
  const GuestAddress in_header = driver.allocate(16), in_data = driver.allocate(1024, 512),
                     in_status = driver.allocate(1);
  driver.write(in_header, header(kVirtioBlkTIn, 4));
  driver.add_chain({{in_header, 16, Access::kReadable}, {in_data, 1024, Access::kWritable},
                    {in_status, 1, Access::kWritable}});
  const uint16_t bad = driver.add_chain({{in_status, 1, Access::kWritable}, {in_header, 16, Access::kReadable}});
  used = rig.kick(2);
  REQUIRE(used.size() == 2);
  CHECK(driver.read(in_data, 1024) == data);
  CHECK(driver.read(in_status, 1)[0] == kVirtioBlkSOk);
  for (const UsedElement& element : used) {
    if (element.id == bad) CHECK(element.len == 0);
  }

  device.reset();
  CHECK_FALSE(thread_named("virtio-blk3"));
}

TEST_CASE("virtio-blk asks for a reset when the ring is broken", "[threads]") {
  TempImage file(Bytes(8 * 512, 0));
  VirtioBlock device(options_for(file));
  BlockDeviceRig rig;
  rig.activate(device);
  // §2.7.6: an available index more than a queue ahead of the device.
  rig.driver.set_avail_idx(100);
  rig.notify.signal();
  CHECK(rig.interrupt->wait_for_needs_reset());
  device.reset();
}

TEST_CASE("virtio-blk reset with requests in flight stops cleanly and the device can start again",
          "[threads]") {
  const BlockIoEngine engine = KVMM_BLOCK_ENGINES();
  TempImage file(Bytes(256 * 512, 0));
  VirtioBlock device(options_for(file), 0, engine);
  {
    BlockDeviceRig rig;
    rig.activate(device);
    FakeDriver& driver = rig.driver;
    for (int i = 0; i < 5; ++i) {  // 15 of the 16 descriptors.
      const GuestAddress h = driver.allocate(16), d = driver.allocate(16 * 512, 512), s = driver.allocate(1);
      driver.write(h, header(kVirtioBlkTOut, static_cast<uint64_t>(i) * 16));
      driver.fill(d, 16 * 512, static_cast<uint8_t>(i + 1));
      driver.add_chain({{h, 16, Access::kReadable}, {d, 16 * 512, Access::kReadable}, {s, 1, Access::kWritable}});
    }
    driver.publish();
    rig.notify.signal();
    device.reset();  // Whatever was in flight has finished when this returns.
    CHECK_FALSE(thread_named("virtio-blk0"));
  }
  // A fresh driver after the reset (§2.1.2 / §3.1.1: the driver sets the device up again).
  BlockDeviceRig rig;
  rig.activate(device);
  const GuestAddress h = rig.driver.allocate(16), d = rig.driver.allocate(512, 512), s = rig.driver.allocate(1);
  rig.driver.write(h, header(kVirtioBlkTIn, 255));
  rig.driver.add_chain({{h, 16, Access::kReadable}, {d, 512, Access::kWritable}, {s, 1, Access::kWritable}});
  REQUIRE(rig.kick(1).size() == 1);
  CHECK(rig.driver.read(s, 1)[0] == kVirtioBlkSOk);
  device.reset();
}

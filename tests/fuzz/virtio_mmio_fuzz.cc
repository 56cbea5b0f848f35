// libFuzzer target for the virtio-mmio transport (devices/virtio/virtio_mmio.h)
// with a real virtio-blk device behind it, its disk a 32 KiB memfd: register
// reads and writes of any offset, size and value, as a guest driver (or a
// hostile one) makes them: feature negotiation, status writes (reset,
// FEATURES_OK, DRIVER_OK, which starts the device's I/O thread), queue
// setup, QueueNotify, interrupt acknowledgement and the config space.
//
// Input: a 2-byte length N, then N bytes copied into guest RAM at 0 (rings,
// descriptors, requests; RAM is [0, 0x10000)), then operations, each a kind
// byte and its operands:
//   kind % 4 == 0: read register (next byte * 4) % 0x100
//   kind % 4 == 1: write register (next byte * 4) % 0x100, 4-byte value
//   kind % 4 == 2: config space byte 0x100 + next byte, size 1/2/4/8 (bits
//                  2-3), a write of the next 8 bytes when bit 4 is set
//   kind % 4 == 3: bit 2 set: wait (at most 2 ms) for the interrupt that
//                  answers the last QueueNotify, if any; else a
//                  register access of a wrong size (1, 2, 3 or 8 bytes, bits
//                  3-4) at offset next byte, a write when bit 5 is set
// Every input starts and ends with a reset (status 0), so no I/O thread
// outlives it.
//
// Invariants (beyond the sanitizers, which see any access outside guest
// memory: GuestMemory hands out only spans inside its mappings):
// - no exception leaves a bus access;
// - the identification registers never change;
// - after every reset the transport reads as reset: status 0 (no
//   DEVICE_NEEDS_RESET), no interrupt pending, queue 0 selected and not
//   ready, its maximum size offered, the device features as at power-on.
//
// Build and run: tools/fuzz virtio_mmio --seconds 60 (seeds in
// tests/fuzz/corpus/virtio_mmio, written by tests/fuzz/make_seeds.py).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "base/memory/guest_memory.h"
#include "devices/virtio/block/virtio_block.h"
#include "devices/virtio/virtio_mmio.h"
#include "tests/fuzz/fuzz_input.h"

using namespace kvmm;
using namespace kvmm::virtio_mmio;

namespace {

constexpr uint64_t kMemorySize = 0x10000;
constexpr uint64_t kDiskBytes = 64 * 512;

// A broken promise is a bug: stop with a crash libFuzzer records.
void expect(bool condition) {
  if (!condition) __builtin_trap();
}

using Input = kvmm::fuzz::Input;

struct World {
  GuestMemory memory;
  std::atomic<int> interrupts{0};
  std::unique_ptr<VirtioMmio> transport;
  uint32_t features_low = 0;
  uint32_t features_high = 0;
  // Interrupts counted at the last QueueNotify not yet waited for; -1: none.
  int notified_at = -1;

  World() {
    memory.add_region(GuestAddress{0}, kMemorySize);
    const int disk = ::memfd_create("kvmm-fuzz-disk", MFD_CLOEXEC);
    expect(disk >= 0 && ::ftruncate(disk, kDiskBytes) == 0);
    DiskOptions options;
    options.path = "/proc/self/fd/" + std::to_string(disk);
    options.serial = "fuzz";
    transport = std::make_unique<VirtioMmio>(std::make_unique<VirtioBlock>(options), memory,
                                             [this] { ++interrupts; }, "virtio-blk0");
    features_low = read(kDeviceFeatures);
    write(kDeviceFeaturesSel, 1);
    features_high = read(kDeviceFeatures);
    write(kStatus, 0);
  }

  uint32_t read(uint64_t offset) {
    uint8_t bytes[4] = {};
    transport->read(offset, bytes);
    uint32_t value;
    std::memcpy(&value, bytes, sizeof value);
    return value;
  }
  void write(uint64_t offset, uint32_t value) {
    uint8_t bytes[4];
    std::memcpy(bytes, &value, sizeof value);
    transport->write(offset, bytes);
    if (offset == kQueueNotify) notified_at = interrupts.load();
    if (offset == kStatus && value == 0) check_reset();
  }

  void check_reset() {
    expect(read(kStatus) == 0);
    expect(read(kInterruptStatus) == 0);
    expect(read(kQueueNumMax) == VirtioBlock::kQueueSize);  // QueueSel is back to 0.
    expect(read(kQueueReady) == 0);
    expect(read(kDeviceFeatures) == features_low);  // DeviceFeaturesSel is back to 0.
    write(kDeviceFeaturesSel, 1);
    expect(read(kDeviceFeatures) == features_high);
    write(kDeviceFeaturesSel, 0);
  }

  void check_identity(uint64_t offset, uint32_t value) const {
    if (offset == kMagicValue) expect(value == kMagic);
    if (offset == kVersion) expect(value == kVersion2);
    if (offset == kDeviceId) expect(value == 2);
    if (offset == kVendorId) expect(value == kVendor);
  }

  void run(Input& in) {
    while (!in.empty()) {
      const uint8_t kind = in.byte();
      switch (kind % 4) {
        case 0: {
          const uint64_t offset = (in.byte() * 4u) % kConfig;
          check_identity(offset, read(offset));
          break;
        }
        case 1: {
          const uint64_t offset = (in.byte() * 4u) % kConfig;
          write(offset, in.le32());
          break;
        }
        case 2: {
          const uint64_t offset = kConfig + in.byte();
          uint8_t bytes[8] = {};
          const size_t length = size_t{1} << ((kind >> 2) & 3);
          if ((kind >> 4) & 1) {
            for (uint8_t& b : bytes) b = in.byte();
            transport->write(offset, std::span<const uint8_t>(bytes, length));
          } else {
            transport->read(offset, std::span<uint8_t>(bytes, length));
          }
          break;
        }
        default: {
          if ((kind >> 2) & 1) {
            // The request completes on the I/O thread: long enough for a
            // few sectors on a memfd, short enough to keep inputs fast.
            for (int i = 0; i < 40 && notified_at >= 0 && interrupts.load() == notified_at; ++i) {
              ::usleep(50);
            }
            notified_at = -1;
            break;
          }
          static constexpr size_t kLengths[4] = {1, 2, 3, 8};
          const size_t length = kLengths[(kind >> 3) & 3];
          const uint64_t offset = in.byte();
          uint8_t bytes[8] = {};
          if ((kind >> 5) & 1) {
            for (uint8_t& b : bytes) b = in.byte();
            transport->write(offset, std::span<const uint8_t>(bytes, length));
          } else {
            transport->read(offset, std::span<uint8_t>(bytes, length));
          }
          break;
        }
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  Input in{data, size};
  // Guest RAM: the input's first part, zeros after it.
  const size_t low = in.byte();
  const size_t image = std::min<size_t>(low | size_t{in.byte()} << 8, in.size);
  const size_t copied = std::min<size_t>(image, kMemorySize);
  auto ram = world.memory.slice(GuestAddress{0}, kMemorySize);
  expect(ram.has_value());
  std::memcpy(ram->data(), in.data, copied);
  std::memset(ram->data() + copied, 0, kMemorySize - copied);
  in.data += image;
  in.size -= image;
  try {
    world.run(in);
    world.write(kStatus, 0);  // Stops the I/O thread before the next input's RAM.
  } catch (...) {
    expect(false);  // A bus access threw.
  }
  return 0;
}

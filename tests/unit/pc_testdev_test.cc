#include "devices/testdev/pc_testdev.h"

#include <catch2/catch.hpp>

#include <array>
#include <utility>
#include <vector>

#include "base/bus/bus.h"

using kvmm::Bus;
using kvmm::PcTestdev;

namespace {
struct PcTestdevOnBuses {
  PcTestdevOnBuses()
      : device(PcTestdev::Callbacks{
            .flush_page = [this](uint64_t gpa) { flushed.push_back(gpa); },
            .set_irq = [this](unsigned line, bool level) { lines.emplace_back(line, level); }}) {
    device.add_to(pio, mmio);
  }
  std::vector<uint64_t> flushed;
  std::vector<std::pair<unsigned, bool>> lines;
  PcTestdev device;
  Bus pio{Bus::Kind::kPio};
  Bus mmio{Bus::Kind::kMmio};
};
}  // namespace

TEST_CASE("pc-testdev's scratch register reads back at every width, at both of its ports") {
  PcTestdevOnBuses testdev;
  const std::array<uint8_t, 4> dword{0x78, 0x56, 0x34, 0x12};
  CHECK(testdev.pio.write(PcTestdev::kScratchPort, dword));
  std::array<uint8_t, 1> byte{};
  CHECK(testdev.pio.read(PcTestdev::kScratchPort + 3, byte));
  CHECK(byte[0] == 0x12);

  const std::array<uint8_t, 2> word{0x99, 0x99};  // emulator.flat: outw 0x9999.
  CHECK(testdev.pio.write(PcTestdev::kScratchPort, word));
  std::array<uint8_t, 4> read{};
  CHECK(testdev.pio.read(PcTestdev::kScratchPort, read));
  CHECK(read == std::array<uint8_t, 4>{0x99, 0x99, 0x34, 0x12});  // Upper half kept.

  // 0xe8 is the same register.
  CHECK(testdev.pio.read(PcTestdev::kScratchBytePort, read));
  CHECK(read == std::array<uint8_t, 4>{0x99, 0x99, 0x34, 0x12});
  const std::array<uint8_t, 1> one{0xab};
  CHECK(testdev.pio.write(PcTestdev::kScratchBytePort + 2, one));
  CHECK(testdev.pio.read(PcTestdev::kScratchPort + 2, byte));
  CHECK(byte[0] == 0xab);
}

TEST_CASE("pc-testdev flushes the page of an address written with outl to 0xe4") {
  PcTestdevOnBuses testdev;
  const std::array<uint8_t, 4> address{0x34, 0x52, 0x10, 0x00};  // 0x105234
  CHECK(testdev.pio.write(PcTestdev::kFlushPagePort, address));
  CHECK(testdev.flushed == std::vector<uint64_t>{0x105000});
  const std::array<uint8_t, 2> word{0x00, 0x20};
  CHECK(testdev.pio.write(PcTestdev::kFlushPagePort, word));  // Not an outl: ignored.
  const std::array<uint8_t, 1> byte{0x01};
  CHECK(testdev.pio.write(PcTestdev::kFlushPagePort + 3, byte));
  CHECK(testdev.flushed.size() == 1);
}

TEST_CASE("pc-testdev sets interrupt line n from each byte written at 0x2000 + n") {
  PcTestdevOnBuses testdev;
  const std::array<uint8_t, 1> high{1};
  const std::array<uint8_t, 1> also_high{0x80};
  const std::array<uint8_t, 1> low{0};
  CHECK(testdev.pio.write(PcTestdev::kIrqPort + 0x0e, high));
  CHECK(testdev.pio.write(PcTestdev::kIrqPort + 0x0e, low));
  CHECK(testdev.pio.write(PcTestdev::kIrqPort + 23, also_high));
  // realmode.flat's outl to 0x200b: line 11 from the low byte, 12-14 from the others.
  const std::array<uint8_t, 4> dword{1, 0, 0, 0};
  CHECK(testdev.pio.write(PcTestdev::kIrqPort + 11, dword));
  CHECK(testdev.lines == std::vector<std::pair<unsigned, bool>>{{0x0e, true},
                                                                {0x0e, false},
                                                                {23, true},
                                                                {11, true},
                                                                {12, false},
                                                                {13, false},
                                                                {14, false}});
  std::array<uint8_t, 1> read{0xff};
  CHECK(testdev.pio.read(PcTestdev::kIrqPort + 0x0e, read));
  CHECK(read[0] == 0);
  // The 24 lines end the window.
  CHECK_FALSE(testdev.pio.write(PcTestdev::kIrqPort + PcTestdev::kIrqLines, high));
}

TEST_CASE("pc-testdev's MMIO window at 0xff000000 is 64 KiB of scratch memory") {
  PcTestdevOnBuses testdev;
  const std::array<uint8_t, 8> quad{1, 2, 3, 4, 5, 6, 7, 8};
  const uint64_t last = PcTestdev::kIomemAddress + PcTestdev::kIomemSize - quad.size();
  CHECK(testdev.mmio.write(last, quad));
  std::array<uint8_t, 8> read{};
  CHECK(testdev.mmio.read(last, read));
  CHECK(read == quad);
  std::array<uint8_t, 2> first{0xff, 0xff};
  CHECK(testdev.mmio.read(PcTestdev::kIomemAddress, first));
  CHECK(first == std::array<uint8_t, 2>{0, 0});
  CHECK_FALSE(testdev.mmio.read(PcTestdev::kIomemAddress + PcTestdev::kIomemSize, first));
}

TEST_CASE("pc-testdev's windows ignore accesses past their ends when called directly") {
  PcTestdevOnBuses testdev;
  const std::array<uint8_t, 4> dword{1, 2, 3, 4};
  testdev.device.scratch->write(2, dword);
  std::array<uint8_t, 4> read{0xaa, 0xaa, 0xaa, 0xaa};
  testdev.device.scratch->read(0, read);
  CHECK(read == std::array<uint8_t, 4>{0, 0, 0, 0});
  testdev.device.iomem->write(PcTestdev::kIomemSize - 2, dword);
  testdev.device.irq_lines->write(PcTestdev::kIrqLines, std::array<uint8_t, 1>{1});
  CHECK(testdev.lines.empty());
}

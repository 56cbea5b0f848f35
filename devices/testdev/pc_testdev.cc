#include "devices/testdev/pc_testdev.h"

#include <vector>
#include <cstring>

namespace kvmm {

namespace {

// The bus already keeps accesses inside each window; checked again because
// a device never trusts its caller with its own bounds.
bool fits(uint64_t offset, size_t size, uint64_t window) {
  return offset <= window && size <= window - offset;
}

// Bytes that read back what was written: an access of n bytes at offset k
// reads or replaces bytes k..k+n-1 and leaves the others alone. The 32-bit
// scratch register and the 64 KiB MMIO window are both this.
class ScratchBytes : public BusDevice {
 public:
  explicit ScratchBytes(uint64_t size) : bytes_(size) {}
  void read(uint64_t offset, std::span<uint8_t> data) override {
    if (!fits(offset, data.size(), bytes_.size())) return;
    std::lock_guard lock(mutex_);
    std::memcpy(data.data(), bytes_.data() + offset, data.size());
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    if (!fits(offset, data.size(), bytes_.size())) return;
    std::lock_guard lock(mutex_);
    std::memcpy(bytes_.data() + offset, data.data(), data.size());
  }

 private:
  std::mutex mutex_;  // Guards bytes_.
  std::vector<uint8_t> bytes_;
};

class FlushPagePort : public BusDevice {
 public:
  explicit FlushPagePort(std::function<void(uint64_t)> flush) : flush_(std::move(flush)) {}
  void read(uint64_t, std::span<uint8_t>) override {}  // Write-only; reads as zero.
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    // QEMU accepts only `outl` to the port's base.
    if (offset != 0 || data.size() != 4) return;
    uint64_t address = 0;  // Guest-controlled: any 32-bit address.
    for (size_t i = 0; i < data.size(); ++i) address |= static_cast<uint64_t>(data[i]) << (8 * i);
    flush_(address & ~(PcTestdev::kPageSize - 1));
  }

 private:
  std::function<void(uint64_t)> flush_;
};

class IrqLinePorts : public BusDevice {
 public:
  explicit IrqLinePorts(std::function<void(unsigned, bool)> set_irq)
      : set_irq_(std::move(set_irq)) {}
  void read(uint64_t, std::span<uint8_t>) override {}  // Write-only; reads as zero.
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    // One port per line; QEMU splits a wider write into byte writes, so an
    // outl to line n sets n from its low byte and clears n+1..n+3
    // (realmode.flat raises IRQ 11 with an outl).
    for (size_t i = 0; i < data.size() && offset + i < PcTestdev::kIrqLines; ++i) {
      set_irq_(static_cast<unsigned>(offset + i), data[i] != 0);  // Guest-controlled level.
    }
  }

 private:
  std::function<void(unsigned, bool)> set_irq_;
};

}  // namespace

PcTestdev::PcTestdev(Callbacks callbacks)
    : scratch(std::make_shared<ScratchBytes>(kScratchSize)),
      flush_page(std::make_shared<FlushPagePort>(std::move(callbacks.flush_page))),
      irq_lines(std::make_shared<IrqLinePorts>(std::move(callbacks.set_irq))),
      iomem(std::make_shared<ScratchBytes>(kIomemSize)) {}

void PcTestdev::add_to(Bus& pio, Bus& mmio) const {
  pio.insert(scratch, kScratchPort, kScratchSize, "pc-testdev scratch");
  pio.insert(flush_page, kFlushPagePort, kFlushPageSize, "pc-testdev flush page");
  pio.insert(scratch, kScratchBytePort, kScratchByteSize, "pc-testdev scratch (bytes)");
  pio.insert(irq_lines, kIrqPort, kIrqLines, "pc-testdev irq lines");
  mmio.insert(iomem, kIomemAddress, kIomemSize, "pc-testdev iomem");
}

}  // namespace kvmm

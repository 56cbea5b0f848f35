#pragma once
// QEMU's pc-testdev, as kvm-unit-tests uses it (its x86/run passes
// `-device pc-testdev`). Five windows, each its own bus device; add_to()
// inserts them all at QEMU's addresses:
//
//   kScratchPort (4 ports): a 32-bit register that reads back what was
//     written, at any width and byte offset (emulator.flat's string I/O and
//     realmode.flat's in/out tests).
//   kFlushPagePort (4 ports): a 32-bit write of a guest physical address
//     asks the host to drop its mapping of that 4 KiB page, so the next
//     guest access to it faults into KVM again (eventinj.flat flushes the
//     page under its IDT or stack this way). Other widths are ignored.
//   kScratchBytePort (4 ports): the same register as kScratchPort; QEMU
//     splits accesses here into single bytes, which reads and writes the
//     same bytes.
//   kIrqPort (kIrqLines ports): each byte v written at kIrqPort + n sets
//     interrupt line n (an ISA IRQ / IOAPIC pin) to level v != 0
//     (ioapic.flat's set_irq_line()); a wider write sets the next lines from
//     its next bytes, as QEMU's byte-wide port does. Reads are 0.
//   kIomemAddress (MMIO, kIomemSize bytes): scratch memory that reads back
//     what was written (emulator.flat and lam.flat map it to exercise MMIO
//     emulation of their instructions).
//
// The device knows nothing of guest memory or interrupt routing: the
// machine supplies both as callbacks, which run on the vCPU thread that
// made the access.
//
// Threads: vCPU threads; each window with state guards it with a mutex.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "base/bus/bus.h"
#include "base/bus/bus_device.h"

namespace kvmm {

struct PcTestdev {
  static constexpr uint16_t kScratchPort = 0xe0;
  static constexpr uint64_t kScratchSize = 4;
  static constexpr uint16_t kFlushPagePort = 0xe4;
  static constexpr uint64_t kFlushPageSize = 4;
  static constexpr uint16_t kScratchBytePort = 0xe8;
  static constexpr uint64_t kScratchByteSize = 4;
  static constexpr uint16_t kIrqPort = 0x2000;
  static constexpr uint64_t kIrqLines = 24;
  static constexpr uint64_t kIomemAddress = 0xff00'0000;
  static constexpr uint64_t kIomemSize = 0x1'0000;
  static constexpr uint64_t kPageSize = 4096;

  struct Callbacks {
    // Drop the host's mapping of the 4 KiB guest page at `gpa` (page
    // aligned; guest-controlled, so possibly not RAM at all).
    std::function<void(uint64_t gpa)> flush_page;
    // Set interrupt line `line` (below kIrqLines) to `level`.
    std::function<void(unsigned line, bool level)> set_irq;
  };

  explicit PcTestdev(Callbacks callbacks);

  // Inserts every window into `pio` and `mmio` at the addresses above.
  // Throws Error when one is taken (a kvmm bug).
  void add_to(Bus& pio, Bus& mmio) const;

  std::shared_ptr<BusDevice> scratch;     // At kScratchPort and kScratchBytePort.
  std::shared_ptr<BusDevice> flush_page;  // At kFlushPagePort.
  std::shared_ptr<BusDevice> irq_lines;   // At kIrqPort.
  std::shared_ptr<BusDevice> iomem;       // MMIO, at kIomemAddress.
};

}  // namespace kvmm

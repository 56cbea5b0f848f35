#pragma once
// Where virtio-mmio transports live: one 4 KiB window each in the MMIO hole,
// and one ISA interrupt each (edge-triggered, identity-mapped to the IOAPIC
// in the MADT and the MP table, so both ACPI and acpi=off kernels find it).
#include <array>
#include <cstdint>

#include "base/memory/guest_address.h"

namespace kvmm {

inline constexpr GuestAddress kVirtioMmioBase{0xd1000000};
inline constexpr uint64_t kVirtioMmioStride = 0x1000;
// §4.2.2: the register file is 0x100 bytes plus the config space.
inline constexpr uint64_t kVirtioMmioSize = 0x200;
// IRQ 4 is COM1, 8 the RTC a PC would have, 13 the FPU: left alone.
inline constexpr std::array<uint32_t, 9> kVirtioIrqs = {5, 6, 7, 9, 10, 11, 12, 14, 15};

inline constexpr GuestAddress virtio_mmio_base(uint32_t index) {
  return GuestAddress{kVirtioMmioBase.value + index * kVirtioMmioStride};
}

}  // namespace kvmm

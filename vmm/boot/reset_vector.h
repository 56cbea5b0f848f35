#pragma once
// A stand-in for the firmware at the x86 reset vector (F000:FFF0, physical
// 0xffff0). kvmm boots kernels directly, with no BIOS, but Linux may still
// jump there to reboot: with hardware-reduced ACPI and no EFI its reboot
// order is EFI (absent), then "BIOS" — real mode at the reset vector. Real
// firmware would reset the machine; this stub does the same by pulsing the
// keyboard controller's reset line (port 0x64 <- 0xfe), which kvmm handles.
#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"
#include "vmm/arch/x86/layout.h"

namespace kvmm {

// Writes the stub at kResetVectorAddress. Throws Error if guest memory has no room there.
void write_reset_vector_stub(const GuestMemory& memory);

}  // namespace kvmm

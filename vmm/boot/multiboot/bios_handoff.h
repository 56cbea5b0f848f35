#pragma once
// The machine state a PC BIOS leaves behind, for multiboot kernels, which
// QEMU boots through SeaBIOS and which may rely on it: kvm-unit-tests'
// realmode.flat takes interrupts in real mode and halts until one comes.
//
//   The real-mode interrupt vector table at address 0: every vector points
//   at an IRET; the 8259s' vectors (0x08-0x0f, 0x70-0x77, where a BIOS puts
//   them) at handlers that send the non-specific EOI first, so the next
//   interrupt of that line can come.
//   The two 8259s initialised (ICW1-ICW4, 8086 mode, cascaded on IRQ 2) at
//   vector bases 0x08 and 0x70, IRQ 0 and the cascade unmasked.
//   The BIOS data area's COM1 port, EBDA segment and base memory size
//   (0x400, 0x40e, 0x413): Xen places its trampoline below the base memory
//   end it reads there, and a 0 puts it at the top of the 4 GiB space.
//   The PIT's channel 0 in mode 3 with the full count of 65536: IRQ 0 at
//   1193182 / 65536 = 18.2 Hz, the BIOS tick.
//
// Protected-mode kernels mask the PIC before they enable interrupts (as
// kvm-unit-tests' start-up code does), so the tick reaches only guests that
// leave it unmasked.
#include <linux/kvm.h>

#include <cstdint>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"

namespace kvmm {

inline constexpr uint8_t kBiosMasterPicBase = 0x08;
inline constexpr uint8_t kBiosSlavePicBase = 0x70;
// IRQ 0 (the tick) and IRQ 2 (the slave) unmasked.
inline constexpr uint8_t kBiosMasterPicMask = 0xfa;
inline constexpr uint8_t kBiosSlavePicMask = 0xff;
inline constexpr uint16_t kRealModeVectors = 256;

// Writes the vector table and its handlers (at kBiosHandlersAddress). Throws
// Error if guest memory does not cover them.
void write_bios_interrupt_table(const GuestMemory& memory);

// Writes the BIOS data area's fields above (the rest stays zero). Throws
// Error if guest memory does not cover them.
void write_bios_data_area(const GuestMemory& memory);

// `chip` (a KVM_GET_IRQCHIP of KVM_IRQCHIP_PIC_MASTER or _SLAVE) as the BIOS
// leaves it; KVM's edge/level masks (elcr_mask) stay as they were.
void set_bios_pic_state(kvm_pic_state& chip, bool master);

// `pit` (a KVM_GET_PIT2) with channel 0 ticking as the BIOS leaves it.
void set_bios_pit_state(kvm_pit_state2& pit);

}  // namespace kvmm

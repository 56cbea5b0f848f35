#pragma once
// The Intel MultiProcessor Specification 1.4 table: how a guest booted with
// acpi=off, or too old for ACPI 2.0, finds its vCPUs and IOAPIC. It describes
// the same interrupt layout as the MADT (see acpi_tables.h): local APIC IDs
// 0..cpus-1 with vCPU 0 the bootstrap processor, one IOAPIC with ID `cpus`,
// ISA IRQs identity-mapped except IRQ0 on pin 2, ExtINT on LINT0 and NMI on
// LINT1 of every local APIC.
//
// The floating pointer structure goes at `base`, where a guest searches the
// BIOS area for it (MP spec 1.4 §4: a 16-byte boundary in [0xf0000, 0x100000)),
// and the configuration table right after it.
#include <cstdint>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"
#include "vmm/arch/x86/layout.h"

namespace kvmm {

// Throws Error when `cpus` is 0 or more than kMaxFirmwareTableCpus, `base` is
// not a 16-byte boundary in [kMpTableBase, kMpTableEnd), the table would run
// past kMpTableEnd, or guest memory does not cover it.
void write_mp_table(const GuestMemory& memory, uint32_t cpus, GuestAddress base = kMpTableBase);

}  // namespace kvmm

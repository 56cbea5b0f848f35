#pragma once
// CPU state at a kernel's entry point, for each boot protocol kvmm uses.
#include <linux/kvm.h>

#include <cstdint>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"

namespace kvmm {

// 64-bit boot protocol (Documentation/arch/x86/boot.rst, "64-bit Boot
// Protocol"): long mode with paging, an identity map covering the kernel,
// zero page and command line, flat __BOOT_CS (0x10) and __BOOT_DS (0x18),
// interrupts off, RSI = the zero page. Writes the GDT and page tables.
void set_linux64_entry(const GuestMemory& memory, GuestAddress entry, GuestAddress zero_page,
                       kvm_sregs& sregs, kvm_regs& regs);

// PVH (xen/include/public/arch-x86/hvm/start_info.h): 32-bit protected mode,
// paging off, flat CS/DS/ES/SS, EBX = the hvm_start_info. Writes the GDT.
void set_pvh_entry(const GuestMemory& memory, GuestAddress entry, GuestAddress start_info,
                   kvm_sregs& sregs, kvm_regs& regs);

// Multiboot v1 (section 3.2, "Machine state"): as PVH, with EAX = `magic`
// (0x2BADB002) and EBX = the multiboot information structure.
void set_multiboot_entry(const GuestMemory& memory, GuestAddress entry, GuestAddress info,
                         uint32_t magic, kvm_sregs& sregs, kvm_regs& regs);

}  // namespace kvmm

#include "vmm/boot/multiboot/bios_handoff.h"

#include <array>
#include <vector>

#include "base/util/error.h"
#include "vmm/arch/x86/layout.h"

namespace kvmm {

namespace {

// The handlers, in segment kBiosSegment; each vector entry is offset:segment.
constexpr uint16_t kBiosSegment = 0xf000;

constexpr std::array<uint8_t, 1> kIret = {0xcf};
constexpr std::array<uint8_t, 7> kMasterEoi = {
    0x50,        // push ax
    0xb0, 0x20,  // mov al, 0x20   ; OCW2: non-specific EOI
    0xe6, 0x20,  // out 0x20, al   ; to the master
    0x58,        // pop ax
    0xcf,        // iret
};
constexpr std::array<uint8_t, 9> kSlaveEoi = {
    0x50,        // push ax
    0xb0, 0x20,  // mov al, 0x20
    0xe6, 0xa0,  // out 0xa0, al   ; to the slave
    0xe6, 0x20,  // out 0x20, al   ; and to the master, for the cascade
    0x58,        // pop ax
    0xcf,        // iret
};

}  // namespace

void write_bios_interrupt_table(const GuestMemory& memory) {
  const uint64_t base = kBiosHandlersAddress.value;
  const uint16_t iret = static_cast<uint16_t>(base - (uint64_t{kBiosSegment} << 4));
  const uint16_t master = static_cast<uint16_t>(iret + kIret.size());
  const uint16_t slave = static_cast<uint16_t>(master + kMasterEoi.size());
  std::vector<uint8_t> code(kIret.begin(), kIret.end());
  code.insert(code.end(), kMasterEoi.begin(), kMasterEoi.end());
  code.insert(code.end(), kSlaveEoi.begin(), kSlaveEoi.end());

  std::vector<uint8_t> table(kRealModeVectors * 4);
  for (unsigned vector = 0; vector < kRealModeVectors; ++vector) {
    uint16_t offset = iret;
    if (vector >= kBiosMasterPicBase && vector < kBiosMasterPicBase + 8u) offset = master;
    if (vector >= kBiosSlavePicBase && vector < kBiosSlavePicBase + 8u) offset = slave;
    table[vector * 4] = static_cast<uint8_t>(offset);
    table[vector * 4 + 1] = static_cast<uint8_t>(offset >> 8);
    table[vector * 4 + 2] = static_cast<uint8_t>(kBiosSegment);
    table[vector * 4 + 3] = static_cast<uint8_t>(kBiosSegment >> 8);
  }
  if (!memory.write(kBiosHandlersAddress, code) || !memory.write(GuestAddress{0}, table)) {
    throw Error("guest memory has no room for the real-mode interrupt table: raise --mem");
  }
}

void write_bios_data_area(const GuestMemory& memory) {
  // IBM PC BIOS data area, segment 0x40: word 0x00 the first serial port's
  // I/O base, word 0x0e the EBDA's segment, word 0x13 the KiB of
  // conventional memory below it (int 12h's answer).
  const uint16_t com1 = 0x3f8;
  const auto ebda_segment = static_cast<uint16_t>(kEbdaStart >> 4);
  const auto base_kib = static_cast<uint16_t>(kEbdaStart >> 10);
  if (!memory.write_obj(GuestAddress{0x400}, com1) ||
      !memory.write_obj(GuestAddress{0x40e}, ebda_segment) ||
      !memory.write_obj(GuestAddress{0x413}, base_kib)) {
    throw Error("guest memory has no room for the BIOS data area: raise --mem");
  }
}

void set_bios_pic_state(kvm_pic_state& chip, bool master) {
  const uint8_t elcr_mask = chip.elcr_mask;
  chip = kvm_pic_state{};
  chip.elcr_mask = elcr_mask;
  chip.irq_base = master ? kBiosMasterPicBase : kBiosSlavePicBase;
  chip.imr = master ? kBiosMasterPicMask : kBiosSlavePicMask;
  chip.init4 = 1;  // ICW4 given: 8086 mode, normal EOI.
}

void set_bios_pit_state(kvm_pit_state2& pit) {
  kvm_pit_channel_state& channel = pit.channels[0];
  channel.count = 0x10000;  // A count of 0 means 65536.
  channel.mode = 3;         // Square wave: one IRQ 0 edge per period.
  channel.rw_mode = 3;      // LSB then MSB, as the BIOS wrote it.
  channel.read_state = 3;
  channel.write_state = 3;
  channel.bcd = 0;
  channel.gate = 1;
}

}  // namespace kvmm

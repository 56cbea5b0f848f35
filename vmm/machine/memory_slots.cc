#include "vmm/machine/memory_slots.h"

#include "vmm/arch/x86/layout.h"

namespace kvmm {

void map_guest_memory(KvmVm& vm, const GuestMemory& memory) {
  vm.set_identity_map_address(kIdentityMapAddress);
  vm.set_tss_address(kTssAddress);
  uint32_t slot = 0;
  for (const GuestMemory::Region& region : memory.regions()) {
    vm.set_memory_slot(slot++, region.base, region.size(), region.mapping.data());
  }
}

}  // namespace kvmm

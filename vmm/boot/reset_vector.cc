#include "vmm/boot/reset_vector.h"

#include <cstdint>

#include "base/util/error.h"

namespace kvmm {

void write_reset_vector_stub(const GuestMemory& memory) {
  const uint8_t code[] = {
      0xb0, 0xfe,  // mov al, 0xfe     ; i8042 command: pulse the reset line
      0xe6, 0x64,  // out 0x64, al
      0xf4,        // hlt              ; not reached: kvmm stops the VM
      0xeb, 0xfd,  // jmp short -3     ; back to hlt
  };
  if (!memory.write(kResetVectorAddress, code)) {
    throw Error("guest memory has no room for the reset vector at 0xffff0: raise --mem");
  }
}

}  // namespace kvmm

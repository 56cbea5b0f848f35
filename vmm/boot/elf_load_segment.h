#pragma once
// One ELF PT_LOAD segment whose bounds a loader has checked against its file:
// the ELF loaders (PVH, Multiboot) copy file_size bytes from file_offset to
// physical_address and zero the rest up to memory_size.
#include <cstdint>

namespace kvmm {

struct ElfLoadSegment {
  uint64_t file_offset = 0;
  uint64_t file_size = 0;
  uint64_t physical_address = 0;
  uint64_t memory_size = 0;
};

}  // namespace kvmm

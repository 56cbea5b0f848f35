#pragma once
// Loads a flat binary (nasm -f bin) into guest memory, byte for byte.
#include <cstdint>
#include <filesystem>

#include "base/memory/guest_address.h"
#include "base/memory/guest_memory.h"

namespace kvmm {

// Returns the image size. Throws Error naming the file and the fix when it is
// missing, unreadable, empty, or does not fit in guest memory at `load`.
uint64_t load_flat_image(const GuestMemory& memory, const std::filesystem::path& path,
                         GuestAddress load);

}  // namespace kvmm

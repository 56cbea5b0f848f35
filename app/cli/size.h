#pragma once
// Memory sizes on the command line: "512M", "2G", "65536K"; a bare number
// means MiB, as in QEMU's -m.
#include <cstdint>
#include <string_view>

namespace kvmm {

// Throws Error naming the value and the accepted forms. Rejects zero, sizes
// that are not a multiple of 4 KiB (KVM maps whole pages) and absurd sizes.
uint64_t parse_memory_size(std::string_view text);

}  // namespace kvmm

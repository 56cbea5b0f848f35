#pragma once
// Everything `kvmm run` was asked to do, validated by the CLI.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "vmm/cpu/cpu_mode.h"
#include "vmm/machine/memory_layout.h"

namespace kvmm {

struct VmConfig {
  std::filesystem::path flat_image;
  CpuMode mode = CpuMode::kReal;
  uint64_t memory_bytes = 256 * kMiB;
  std::optional<std::string> exit_log_path;
};

}  // namespace kvmm

#include "app/bench/exit_kinds.h"

#include <algorithm>
#include <array>

#include "base/util/error.h"
#include "base/util/parse.h"

namespace kvmm {

namespace {

constexpr std::array kKinds = {
    ExitKindInfo{ExitKind::kNone, "none", ExitPath::kBaseline,
                 "no exit: the cost of the timestamps alone, included in every row"},
    ExitKindInfo{ExitKind::kCpuid, "cpuid", ExitPath::kKernel, "cpuid leaf 0"},
    ExitKindInfo{ExitKind::kVmcall, "vmcall", ExitPath::kKernel,
                 "vmcall (vmmcall on AMD) with an unknown hypercall number: KVM returns -ENOSYS"},
    ExitKindInfo{ExitKind::kPioOutIoeventfd, "pio_out_ioeventfd", ExitPath::kKernel,
                 "out to port 0x530, bound to an ioeventfd"},
    ExitKindInfo{ExitKind::kMmioWriteIoeventfd, "mmio_write_ioeventfd", ExitPath::kKernel,
                 "4-byte write to 0xd0001000, bound to an ioeventfd"},
    ExitKindInfo{ExitKind::kHltTimer, "hlt_timer", ExitPath::kKernel,
                 "hlt until a LAPIC TSC-deadline timer fires: deadline to running again"},
    ExitKindInfo{ExitKind::kPioOut, "pio_out", ExitPath::kUserSpace,
                 "out to the test device, port 0x520"},
    ExitKindInfo{ExitKind::kPioIn, "pio_in", ExitPath::kUserSpace,
                 "in from the test device, port 0x520"},
    ExitKindInfo{ExitKind::kMmioWrite, "mmio_write", ExitPath::kUserSpace,
                 "4-byte write to the test device, 0xd0000000"},
    ExitKindInfo{ExitKind::kMmioRead, "mmio_read", ExitPath::kUserSpace,
                 "4-byte read from the test device, 0xd0000000"},
    ExitKindInfo{ExitKind::kSerialOut, "serial_out", ExitPath::kUserSpace,
                 "out to the COM1 transmit register, 0x3f8 (bytes are counted, not printed)"},
};

constexpr std::array kPairs = {
    VmmSharePair{"pio_out-pio_out_ioeventfd", ExitKind::kPioOut, ExitKind::kPioOutIoeventfd},
    VmmSharePair{"mmio_write-mmio_write_ioeventfd", ExitKind::kMmioWrite,
                 ExitKind::kMmioWriteIoeventfd},
};

}  // namespace

std::span<const ExitKindInfo> exit_kinds() { return kKinds; }

const ExitKindInfo& exit_kind_info(ExitKind kind) {
  for (const ExitKindInfo& info : kKinds) {
    if (info.kind == kind) return info;
  }
  throw Error("internal error: exit kind " + std::to_string(static_cast<uint32_t>(kind)));
}

const char* exit_path_name(ExitPath path) {
  switch (path) {
    case ExitPath::kBaseline: return "baseline";
    case ExitPath::kKernel: return "kernel";
    case ExitPath::kUserSpace: return "user";
  }
  return "?";
}

std::string exit_kind_names() {
  std::string names;
  for (const ExitKindInfo& info : kKinds) {
    if (!names.empty()) names += ", ";
    names += info.name;
  }
  return names;
}

std::vector<ExitKind> parse_exit_kinds(std::string_view list) {
  std::vector<ExitKind> kinds;
  for (const std::string_view name : split(list, ',')) {
    const auto* found = std::find_if(kKinds.begin(), kKinds.end(),
                                     [&](const ExitKindInfo& info) { return name == info.name; });
    if (found == kKinds.end()) {
      throw Error("--kind: unknown exit kind '" + std::string(name) +
                  "': use one or more of " + exit_kind_names() + ", separated by commas");
    }
    if (std::find(kinds.begin(), kinds.end(), found->kind) == kinds.end()) {
      kinds.push_back(found->kind);
    }
  }
  return kinds;
}

std::span<const VmmSharePair> vmm_share_pairs() { return kPairs; }

}  // namespace kvmm

#pragma once
// The exit kinds `kvmm bench exits` measures, their names on the command
// line and in reports, and which path each takes. The numbers are the
// guest's kind_table indices in guest/bench_exits.asm: keep them in step.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmm {

enum class ExitKind : uint32_t {
  kNone = 0,             // nothing between the timestamps: the timing's own cost
  kCpuid = 1,
  kVmcall = 2,           // vmmcall on AMD
  kPioOutIoeventfd = 3,
  kMmioWriteIoeventfd = 4,
  kHltTimer = 5,
  kPioOut = 6,
  kPioIn = 7,
  kMmioWrite = 8,
  kMmioRead = 9,
  kSerialOut = 10,
};

// Where an exit of this kind is handled.
enum class ExitPath { kBaseline, kKernel, kUserSpace };

struct ExitKindInfo {
  ExitKind kind;
  const char* name;  // CLI and report name, e.g. "pio_out"
  ExitPath path;
  const char* what;  // One line: what the guest does.
};

// Every kind, in report order.
std::span<const ExitKindInfo> exit_kinds();
const ExitKindInfo& exit_kind_info(ExitKind kind);
const char* exit_path_name(ExitPath path);  // "baseline", "kernel", "user"

// "cpuid,pio_out" -> the kinds, in the order given, without duplicates.
// Throws Error naming the unknown kind and listing the valid ones.
std::vector<ExitKind> parse_exit_kinds(std::string_view list);
std::string exit_kind_names();  // "none, cpuid, ..." for messages

// "VMM share" rows: a user-space kind minus the in-kernel kind that is the
// same guest instruction to the same kind of address, so the difference is
// what reaching kvmm costs (the exit to user space, kvmm's handler, the
// return into KVM_RUN).
struct VmmSharePair {
  const char* name;
  ExitKind user;
  ExitKind kernel;
};
std::span<const VmmSharePair> vmm_share_pairs();

// Guest ABI (guest/bench_exits.asm): the parameter block kvmm writes (at
// kExitBenchParamsAddress, vmm/arch/x86/layout.h), the port bound to an
// ioeventfd (the MMIO one is kIoeventfdMmioAddress), and the guest's failure
// statuses.
struct ExitBenchParams {
  uint64_t kind;
  uint64_t iterations;
  uint64_t warmup;
  uint64_t samples_address;  // Guest-physical; iterations qwords.
  uint64_t timer_delta_cycles;
  uint64_t closing_stamp;  // Written by the guest: kStampRdtscp or kStampLfenceRdtsc.
};
inline constexpr uint64_t kStampRdtscp = 1;
inline constexpr uint64_t kStampLfenceRdtsc = 2;
inline constexpr uint16_t kIoeventfdPort = 0x530;
inline constexpr uint8_t kBenchBadParams = 0x10;
inline constexpr uint8_t kBenchUnexpectedVector = 0x11;

}  // namespace kvmm

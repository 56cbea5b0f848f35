#pragma once
// Where kvmm bench finds its nasm guests (bench_exits.bin, sched_bench.bin).
#include <filesystem>
#include <string_view>
#include <vector>

namespace kvmm {

// $KVMM_GUEST_DIR alone when it is set; otherwise guest/ beside the kvmm
// executable (the build tree: build/kvmm, build/guest), ../lib/kvmm/guest
// from it (an installed kvmm: P/bin/kvmm, P/lib/kvmm/guest), then the
// directory kvmm was configured to install them to.
std::vector<std::filesystem::path> guest_search_dirs();

// The first of guest_search_dirs() holding `name`. Throws Error saying where
// it looked and how to get the guest; `what` names it ("the exit benchmark").
std::filesystem::path find_guest(std::string_view name, std::string_view what);

}  // namespace kvmm

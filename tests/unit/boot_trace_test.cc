#include "vmm/machine/boot_trace.h"

#include <catch2/catch.hpp>

using kvmm::boot_marker_phase;
using kvmm::format_boot_trace_line;

// tools/bench-start reads the CPU column: wall ms, CPU ms, then the phase.
TEST_CASE("A boot-trace line gives wall time, process CPU time and the phase") {
  CHECK(format_boot_trace_line(12.3456, 8.7654, "first KVM_RUN") ==
        "boot-trace    12.346 ms     8.765 ms CPU  first KVM_RUN");
  CHECK(format_boot_trace_line(1234.5, 0.25, "guest: ready") ==
        "boot-trace  1234.500 ms     0.250 ms CPU  guest: ready");
}

TEST_CASE("A boot-trace line shows an unknown CPU time as -") {
  CHECK(format_boot_trace_line(1.0, -1.0, "VM created") ==
        "boot-trace     1.000 ms         - ms CPU  VM created");
}

TEST_CASE("The boot marker's phases 1-3 are the default guest's init's") {
  CHECK(boot_marker_phase(1) == "guest: init started");
  CHECK(boot_marker_phase(2) == "guest: modules loaded");
  CHECK(boot_marker_phase(3) == "guest: ready");
  CHECK(boot_marker_phase(0) == "guest marker 0");
  CHECK(boot_marker_phase(200) == "guest marker 200");
}

#include "vmm/machine/boot_trace.h"

#include <catch2/catch.hpp>

using kvmm::format_boot_trace_line;

// tools/bench-start reads the CPU column: wall ms, CPU ms, then the phase.
TEST_CASE("A boot-trace line gives wall time, process CPU time and the phase") {
  CHECK(format_boot_trace_line(12.3456, 8.7654, "first KVM_RUN") ==
        "boot-trace    12.346 ms     8.765 ms CPU  first KVM_RUN");
  CHECK(format_boot_trace_line(1234.5, 0.25, "guest marker (init)") ==
        "boot-trace  1234.500 ms     0.250 ms CPU  guest marker (init)");
}

TEST_CASE("A boot-trace line shows an unavailable CPU clock as negative") {
  CHECK(format_boot_trace_line(1.0, -1.0, "VM created") ==
        "boot-trace     1.000 ms    -1.000 ms CPU  VM created");
}

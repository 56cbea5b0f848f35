#pragma once
// `kvmm check`: can this host run guests? Like virt-host-validate, one line
// per check: PASS, WARN (works, but note this) or FAIL (with the fix).
#include <iosfwd>

namespace kvmm {

// Returns 0 when guests can run here, 1 otherwise. Prints nothing if quiet.
// With need_linux, a KVM that cannot boot stock Linux kernels fails too.
int run_host_check(std::ostream& out, bool quiet, bool need_linux);

}  // namespace kvmm

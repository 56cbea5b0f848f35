#pragma once
// `kvmm check`: can this host run guests? Like virt-host-validate, one line
// per check: PASS, WARN (works, but note this), FAIL (with the fix) or INFO;
// or the same as one JSON object (--json).
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace kvmm {

enum class CheckStatus { kPass, kWarn, kFail, kInfo };

struct HostCheck {
  std::string name;  // Stable, for scripts: "kvm-device", "tun", "io_uring", ...
  CheckStatus status = CheckStatus::kInfo;
  std::string message;  // One line: what was found and, unless PASS, the fix.
};

enum class CheckOutput { kText, kJson, kQuiet };

// Returns 0 when guests can run here (no FAIL), 1 otherwise.
// With need_linux, a KVM that cannot boot stock Linux kernels fails too.
int run_host_check(std::ostream& out, CheckOutput output, bool need_linux);

// The parts, for tests.

// A device node kvmm opens read-write for a feature ("/dev/net/tun" for
// --net): PASS when it opens, else WARN naming the feature and the fix
// (`module` to load when it is missing, access when it is refused).
HostCheck check_device_node(std::string_view name, const std::string& path,
                            std::string_view feature, std::string_view module);

// The policy in brackets in /sys/kernel/mm/transparent_hugepage/enabled
// ("always [madvise] never" -> "madvise"); "" when there is none.
std::string bracketed_choice(std::string_view text);

// INFO (always: guest RAM may use 2 MiB pages) or INFO with what to change,
// from the contents of that file; WARN when it cannot be read.
HostCheck check_transparent_hugepages(const std::string& path);

// {"ok": ..., "checks": [{"name", "status", "message"}, ...]}
std::string format_checks_json(const std::vector<HostCheck>& checks);
// "PASS  message" lines.
std::string format_checks_text(const std::vector<HostCheck>& checks);

}  // namespace kvmm

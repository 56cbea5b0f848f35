#pragma once
// --jail DIR[,uid=N,gid=N]: once kvmm has opened everything it needs and
// before any vCPU runs guest code, the process chroots into DIR, drops its
// supplementary groups, takes the given group and user ids, and sets
// no_new_privs, as Firecracker's jailer does. docs/security.md ("The jail")
// says what works inside it and what does not.
//
// Threads: resolve_jail() anywhere; enter_jail() on the main thread before
// any vCPU, API or device I/O thread exists. glibc applies setresuid(2),
// setresgid(2) and setgroups(2) to every thread of the process (its setxid
// broadcast), so threads that already run (the disks' blk-workers, --net
// user's slirp threads) change ids too, and their seccomp filters must allow
// those calls (FilterNeeds::jail).
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string_view>

namespace kvmm {

struct JailOptions {
  std::filesystem::path dir;
  // Unset: the owner (or group) of `dir`, so that `chown U:G DIR` is enough.
  std::optional<uid_t> uid = std::nullopt;
  std::optional<gid_t> gid = std::nullopt;
};

// "DIR", "DIR,uid=N,gid=N" (either id alone too); throws UsageError naming
// the bad part. DIR may not contain a comma.
JailOptions parse_jail_option(std::string_view text);

// What enter_jail() does, with every id known.
struct JailPlan {
  std::filesystem::path dir;  // Absolute.
  uid_t uid = 0;
  gid_t gid = 0;
};

// The checks that can be made before anything is opened: `dir` is a
// directory, kvmm runs as root (chroot(2) needs CAP_SYS_CHROOT, the id
// change CAP_SETUID and CAP_SETGID), and the ids the process takes are not
// root's (root can leave a chroot). Throws Error, one line each.
JailPlan resolve_jail(const JailOptions& options);

// Before any thread is started: PR_SET_NO_NEW_PRIVS, which holds for the
// thread that sets it and the threads it creates afterwards, so that the
// disks' blk-workers have it too when seccomp is off. Throws Error.
void prepare_jail();

// chroot(dir), chdir("/"), setgroups(0), setresgid(gid), setresuid(uid);
// then checks the ids and no_new_privs. Throws Error when the kernel
// refuses.
void enter_jail(const JailPlan& plan);

}  // namespace kvmm

// The seccomp filter tables (vmm/security/seccomp_filters.h), without loading
// them: each list is free of duplicates, ioctl is allowed only by request and
// only where a role needs it, and the calls that must never be allowed are not.
#include <catch2/catch.hpp>

#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <vector>

#include "devices/virtio/net/vhost_abi.h"
#include "vmm/security/seccomp_filters.h"
#include "vmm/kvm/kvm_abi.h"

using kvmm::FilterNeeds;
using kvmm::RoleFilter;
using kvmm::ThreadRole;

namespace {

constexpr ThreadRole kRoles[] = {ThreadRole::kMain,        ThreadRole::kVcpu,
                                 ThreadRole::kBlockIo,     ThreadRole::kBlockWorker,
                                 ThreadRole::kNetIo,       ThreadRole::kVhostNetIo,
                                 ThreadRole::kApi,         ThreadRole::kSlirp,
                                 ThreadRole::kLauncher};
static_assert(std::size(kRoles) == kvmm::kThreadRoleCount);

template <typename T>
bool has(const std::vector<T>& list, T value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

TEST_CASE("no seccomp list names a system call or request twice") {
  for (bool stats : {false, true}) {
    for (ThreadRole role : kRoles) {
      const RoleFilter f = kvmm::role_filter(role, FilterNeeds{.stats = stats});
      INFO(kvmm::role_name(role) << (stats ? " with stats" : ""));
      CHECK(std::set<int>(f.syscalls.begin(), f.syscalls.end()).size() == f.syscalls.size());
      CHECK(std::set<unsigned long>(f.ioctls.begin(), f.ioctls.end()).size() == f.ioctls.size());
      // ioctl and prctl go through their argument rules only.
      CHECK_FALSE(has(f.syscalls, static_cast<int>(SYS_ioctl)));
      CHECK_FALSE(has(f.syscalls, static_cast<int>(SYS_prctl)));
    }
  }
}

TEST_CASE("every seccomp filter lets the SIGSYS handler name the thread and exit") {
  for (ThreadRole role : kRoles) {
    const RoleFilter f = kvmm::role_filter(role, {});
    INFO(kvmm::role_name(role));
    CHECK(has(f.syscalls, static_cast<int>(SYS_write)));
    CHECK(has(f.syscalls, static_cast<int>(SYS_exit_group)));
    CHECK(has(f.prctl_options, PR_GET_NAME));
    CHECK_FALSE(has(f.prctl_options, PR_SET_NO_NEW_PRIVS));
    CHECK_FALSE(has(f.prctl_options, PR_SET_DUMPABLE));
  }
}

TEST_CASE("no seccomp filter allows starting programs, tracing, sockets or new privileges") {
  for (bool stats : {false, true}) {
    for (ThreadRole role : kRoles) {
      const RoleFilter f = kvmm::role_filter(role, FilterNeeds{.stats = stats});
      INFO(kvmm::role_name(role));
      for (int nr : {SYS_execve, SYS_execveat, SYS_ptrace, SYS_fork, SYS_vfork, SYS_setuid,
                     SYS_mount, SYS_kill, SYS_process_vm_writev, SYS_getppid, SYS_uname}) {
        INFO("system call " << nr);
        CHECK_FALSE(has(f.syscalls, nr));
      }
      // Only --net user's libslirp turns the guest's connections into sockets.
      for (int nr : {SYS_socket, SYS_connect}) {
        INFO("system call " << nr);
        CHECK(has(f.syscalls, nr) == (role == ThreadRole::kSlirp));
      }
    }
  }
}

TEST_CASE("the slirp filter serves sockets but cannot touch the guest or start anything") {
  const RoleFilter f = kvmm::role_filter(ThreadRole::kSlirp, {});
  for (int nr : {SYS_socket, SYS_connect, SYS_accept, SYS_bind, SYS_listen, SYS_sendto,
                 SYS_recvfrom, SYS_poll}) {
    INFO("system call " << nr);
    CHECK(has(f.syscalls, nr));
  }
  CHECK(f.ioctls == std::vector<unsigned long>{FIONREAD, TCGETS});
  for (int nr : {SYS_clone, SYS_clone3, SYS_execve, SYS_process_vm_writev, SYS_unlink}) {
    INFO("system call " << nr);
    CHECK_FALSE(has(f.syscalls, nr));
  }
}

TEST_CASE("with a jail only the blk-worker and slirp filters change ids, and never chroot") {
  // The blk-workers and slirp threads exist when --jail changes the ids, and
  // glibc makes every thread make the call itself; no thread may chroot, and
  // with no jail no thread may change an id.
  const int kChangeIds[] = {SYS_setgroups, SYS_setresgid, SYS_setresuid};
  for (bool jail : {false, true}) {
    for (ThreadRole role : kRoles) {
      const RoleFilter f = kvmm::role_filter(role, FilterNeeds{.stats = true, .jail = jail});
      INFO(kvmm::role_name(role) << (jail ? " with a jail" : ""));
      const bool changes_ids =
          jail && (role == ThreadRole::kBlockWorker || role == ThreadRole::kSlirp);
      for (int nr : kChangeIds) {
        INFO("system call " << nr);
        CHECK(has(f.syscalls, nr) == changes_ids);
      }
      for (int nr : {SYS_chroot, SYS_pivot_root, SYS_chdir, SYS_fchdir, SYS_setuid, SYS_setgid,
                     SYS_setreuid, SYS_setregid, SYS_setfsuid, SYS_capset, SYS_unshare}) {
        INFO("system call " << nr);
        CHECK_FALSE(has(f.syscalls, nr));
      }
    }
  }
}

TEST_CASE("only the vCPU filter runs the guest, and only the launcher starts threads") {
  const RoleFilter vcpu = kvmm::role_filter(ThreadRole::kVcpu, {});
  namespace vhost = kvmm::vhost_abi;
  CHECK(vcpu.ioctls ==
        std::vector<unsigned long>{KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_IRQ_LINE,
                                   KVM_IRQ_LINE_STATUS, KVM_GET_STATS_FD, KVM_KVMCLOCK_CTRL,
                                   KVM_SET_REGS, KVM_SET_SREGS, kvmm::kKvmSetMsrs, KVM_SET_FPU,
                                   KVM_SET_LAPIC, KVM_SET_MP_STATE, TUNSETOFFLOAD,
                                   vhost::kSetFeatures, vhost::kSetMemTable, vhost::kSetVringNum,
                                   vhost::kSetVringAddr, vhost::kSetVringBase, vhost::kSetVringKick,
                                   vhost::kSetVringCall, vhost::kNetSetBackend});
  // KVM_RUN, once per exit: tested before any other call.
  CHECK(vcpu.hot_syscall == static_cast<int>(SYS_ioctl));
  const RoleFilter launcher = kvmm::role_filter(ThreadRole::kLauncher, {});
  for (int nr : {SYS_clone, SYS_clone3, SYS_seccomp, SYS_set_robust_list, SYS_rseq}) {
    INFO("system call " << nr);
    CHECK(has(launcher.syscalls, nr));
  }
  CHECK(launcher.ioctls.empty());
  for (ThreadRole role : kRoles) {
    const RoleFilter f = kvmm::role_filter(role, {});
    INFO(kvmm::role_name(role));
    CHECK(has(f.ioctls, static_cast<unsigned long>(KVM_RUN)) == (role == ThreadRole::kVcpu));
    for (int nr : {SYS_clone, SYS_clone3, SYS_seccomp}) {
      INFO("system call " << nr);
      CHECK(has(f.syscalls, nr) == (role == ThreadRole::kLauncher));
    }
  }
}

TEST_CASE("the device threads make no ioctl and the main thread only its shutdown's") {
  for (ThreadRole role : {ThreadRole::kBlockIo, ThreadRole::kBlockWorker, ThreadRole::kNetIo,
                          ThreadRole::kVhostNetIo, ThreadRole::kLauncher}) {
    INFO(kvmm::role_name(role));
    CHECK(kvmm::role_filter(role, {}).ioctls.empty());
  }
  const RoleFilter main = kvmm::role_filter(ThreadRole::kMain, {});
  CHECK(has(main.ioctls, static_cast<unsigned long>(KVM_IRQ_LINE)));
  CHECK_FALSE(has(main.ioctls, static_cast<unsigned long>(KVM_SET_USER_MEMORY_REGION)));
  CHECK_FALSE(has(main.ioctls, static_cast<unsigned long>(KVM_CREATE_VCPU)));
}

TEST_CASE("files are opened only for --stats, by the API thread and by libslirp") {
  for (ThreadRole role : kRoles) {
    if (role == ThreadRole::kApi) continue;  // vm.info reads /proc/self/task.
    if (role == ThreadRole::kSlirp) continue;  // /etc/resolv.conf, for DNS.
    INFO(kvmm::role_name(role));
    CHECK_FALSE(has(kvmm::role_filter(role, {}).syscalls, static_cast<int>(SYS_openat)));
    CHECK_FALSE(has(kvmm::role_filter(role, {}).syscalls, static_cast<int>(SYS_open)));
  }
  for (ThreadRole role : {ThreadRole::kMain, ThreadRole::kVcpu}) {
    INFO(kvmm::role_name(role));
    CHECK(has(kvmm::role_filter(role, {.stats = true}).syscalls, static_cast<int>(SYS_openat)));
  }
}

TEST_CASE("the API thread serves its socket but cannot touch the guest's memory or vCPUs") {
  const RoleFilter api = kvmm::role_filter(ThreadRole::kApi, {});
  CHECK(has(api.syscalls, static_cast<int>(SYS_accept4)));
  CHECK(has(api.syscalls, static_cast<int>(SYS_getsockopt)));  // SO_PEERCRED
  CHECK(has(api.syscalls, static_cast<int>(SYS_openat)));
  CHECK_FALSE(has(api.syscalls, static_cast<int>(SYS_socket)));
  CHECK_FALSE(has(api.syscalls, static_cast<int>(SYS_execve)));
  CHECK_FALSE(has(api.syscalls, static_cast<int>(SYS_process_vm_writev)));
  CHECK_FALSE(has(api.ioctls, static_cast<unsigned long>(KVM_SET_REGS)));
  CHECK_FALSE(has(api.ioctls, static_cast<unsigned long>(KVM_SET_USER_MEMORY_REGION)));
}

TEST_CASE("only the API thread sets a signal's action, and only SIGPIPE's") {
  // It loads the HTTP module on its first client, and httplib's server
  // ignores SIGPIPE when it is made. No thread sets actions freely.
  for (ThreadRole role : kRoles) {
    const RoleFilter f = kvmm::role_filter(role, {});
    INFO(kvmm::role_name(role));
    CHECK_FALSE(has(f.syscalls, static_cast<int>(SYS_rt_sigaction)));
    if (role == ThreadRole::kApi) {
      CHECK(f.sigaction_signals == std::vector<int>{SIGPIPE});
    } else {
      CHECK(f.sigaction_signals.empty());
    }
  }
}

TEST_CASE("the launcher's filter holds what the device threads it starts need") {
  // A filter is inherited: a device thread runs under the launcher's and its own.
  const RoleFilter launcher = kvmm::role_filter(ThreadRole::kLauncher, {});
  for (ThreadRole child : {ThreadRole::kBlockIo, ThreadRole::kNetIo, ThreadRole::kVhostNetIo}) {
    const RoleFilter f = kvmm::role_filter(child, {});
    INFO(kvmm::role_name(child));
    for (int nr : f.syscalls) {
      INFO("system call " << nr);
      CHECK(has(launcher.syscalls, nr));
    }
    CHECK(f.ioctls.empty());  // The launcher allows none.
  }
  // ... but the blk-workers and slirp threads are started by the main thread
  // before any filter, and nothing else: no file, socket or disk I/O.
  for (int nr : {SYS_pwritev, SYS_openat, SYS_socket, SYS_connect, SYS_execve, SYS_fork}) {
    INFO("system call " << nr);
    CHECK_FALSE(has(launcher.syscalls, nr));
  }
}

TEST_CASE("the vCPU filter holds only what the vCPU itself does") {
  // The device threads a vCPU asks for are the launcher's children: their
  // calls are not the vCPU's. Activation on the vCPU creates the I/O
  // thread's epoll fd and eventfds and watches its sources.
  for (bool stats : {false, true}) {
    const RoleFilter vcpu = kvmm::role_filter(ThreadRole::kVcpu, FilterNeeds{.stats = stats});
    for (int nr : {SYS_clone, SYS_clone3, SYS_seccomp, SYS_set_robust_list, SYS_rseq,
                   SYS_io_uring_enter, SYS_readv, SYS_writev, SYS_epoll_wait, SYS_epoll_pwait,
                   SYS_poll, SYS_ppoll, SYS_pwritev}) {
      INFO("system call " << nr);
      CHECK_FALSE(has(vcpu.syscalls, nr));
    }
    for (int nr : {SYS_epoll_create1, SYS_eventfd2, SYS_epoll_ctl}) {
      INFO("system call " << nr);
      CHECK(has(vcpu.syscalls, nr));
    }
  }
}

TEST_CASE("a VM pause needs nothing new: device threads park, the main thread pauses them") {
  // An I/O thread drains its pause eventfd (read), sleeps in park() on a
  // condition variable (futex), and a disk polls its completions meanwhile.
  for (ThreadRole role : {ThreadRole::kBlockIo, ThreadRole::kNetIo, ThreadRole::kVhostNetIo}) {
    const RoleFilter f = kvmm::role_filter(role, {});
    INFO(kvmm::role_name(role));
    CHECK(has(f.syscalls, static_cast<int>(SYS_futex)));
    CHECK(has(f.syscalls, static_cast<int>(SYS_read)));
    CHECK(has(f.syscalls, static_cast<int>(SYS_poll)));
  }
  // The pausing thread signals eventfds (write), waits for the acknowledgement
  // (futex, clock_gettime) and detaches and re-attaches vhost's backend.
  for (ThreadRole role : {ThreadRole::kMain, ThreadRole::kVcpu}) {
    const RoleFilter f = kvmm::role_filter(role, {});
    INFO(kvmm::role_name(role));
    CHECK(has(f.syscalls, static_cast<int>(SYS_futex)));
    CHECK(has(f.syscalls, static_cast<int>(SYS_write)));
    CHECK(has(f.syscalls, static_cast<int>(SYS_clock_gettime)));
    CHECK(has(f.ioctls, static_cast<unsigned long>(kvmm::vhost_abi::kNetSetBackend)));
  }
}

#include "vmm/security/seccomp_filters.h"

#include <signal.h>

#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>

#include <initializer_list>

#include "devices/virtio/net/vhost_abi.h"
#include "vmm/kvm/kvm_abi.h"

namespace kvmm {

namespace {

// Every thread: memory (malloc, thread stacks), locks, time, logging to stderr
// (write), closing what it owns, the way out (exit, exit_group: also the
// SIGSYS handler's), abort(3) (tgkill, getpid, gettid). A VM pause needs
// nothing more: a device thread parks on a condition variable (futex) and
// the pausing thread signals its pause eventfd (write). Each thread keeps
// its stack out of huge pages as it starts (base/util/thread_stack.h):
// glibc's pthread_getattr_np asks for the thread's affinity.
constexpr std::initializer_list<int> kCommon = {
    SYS_brk, SYS_mmap, SYS_munmap, SYS_mremap, SYS_mprotect, SYS_madvise, SYS_sched_getaffinity,
    SYS_futex, SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep, SYS_sched_yield,
    SYS_write, SYS_close,
    SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_restart_syscall,
    SYS_exit, SYS_exit_group, SYS_getpid, SYS_gettid, SYS_tgkill,
};

// An I/O thread's loop: epoll, draining eventfds (poll, read), raising the
// irqfd (write, in kCommon).
constexpr std::initializer_list<int> kEpollLoop = {
    SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_ctl, SYS_read, SYS_poll, SYS_ppoll,
};

// The blocking disk I/O of the thread engine (block_io_operation.cc).
constexpr std::initializer_list<int> kDiskIo = {
    SYS_preadv, SYS_pwritev, SYS_preadv2, SYS_pwritev2, SYS_pread64, SYS_pwrite64,
    SYS_fdatasync, SYS_fsync, SYS_fallocate,
};

// Starting a thread, and what the new thread does before and while loading
// its own filter (seccomp(2) can only narrow what is allowed).
constexpr std::initializer_list<int> kThreadStart = {
    SYS_clone, SYS_clone3, SYS_set_robust_list, SYS_rseq, SYS_seccomp,
};

// Activating a virtio device (on the vCPU thread that wrote DRIVER_OK):
// the I/O thread's epoll fd, its stop and pause eventfds and the watches on
// them and on the device's sources. The thread itself is the launcher's.
constexpr std::initializer_list<int> kActivation = {
    SYS_epoll_create1, SYS_eventfd2, SYS_epoll_ctl,
};

// vhost-net's set-up on activation and its stop on reset (vhost_net.cc).
constexpr std::initializer_list<unsigned long> kVhostIoctls = {
    vhost_abi::kSetFeatures,  vhost_abi::kSetMemTable,  vhost_abi::kSetVringNum,
    vhost_abi::kSetVringAddr, vhost_abi::kSetVringBase, vhost_abi::kSetVringKick,
    vhost_abi::kSetVringCall, vhost_abi::kNetSetBackend,
};

void add(std::vector<int>& to, std::initializer_list<int> list) { to.insert(to.end(), list); }
void add(std::vector<unsigned long>& to, std::initializer_list<unsigned long> list) {
  to.insert(to.end(), list);
}

RoleFilter block_io() {
  RoleFilter f;
  add(f.syscalls, kEpollLoop);
  f.syscalls.push_back(SYS_io_uring_enter);
  return f;
}

RoleFilter net_io() {
  RoleFilter f;
  add(f.syscalls, kEpollLoop);
  add(f.syscalls, {SYS_readv, SYS_writev});  // The tap: a frame per call.
  return f;
}

RoleFilter vhost_net_io() {
  RoleFilter f;
  add(f.syscalls, kEpollLoop);
  return f;
}

// --net user's libslirp (slirp_backend.h): the guest's connections become
// the host's sockets, so this thread alone opens, connects, accepts and
// serves them. It also reads /etc/resolv.conf (fopen, stat) for the DNS
// server it forwards the guest's queries to, sizes UDP datagrams with
// FIONREAD, and logs libslirp's warnings through glib (isatty: TCGETS).
RoleFilter slirp(const FilterNeeds& needs) {
  RoleFilter f;
  add(f.syscalls, {SYS_poll, SYS_ppoll, SYS_read});
  add(f.syscalls, {SYS_socket, SYS_connect, SYS_accept, SYS_accept4, SYS_bind, SYS_listen,
                   SYS_shutdown, SYS_getsockname, SYS_getpeername, SYS_getsockopt,
                   SYS_setsockopt, SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg,
                   SYS_fcntl});
  add(f.syscalls, {SYS_openat, SYS_newfstatat, SYS_fstat, SYS_lseek});
  add(f.ioctls, {FIONREAD, TCGETS});
  // It exists when --jail changes the process's ids (glibc's setxid
  // broadcast, as for the blk-workers).
  if (needs.jail) add(f.syscalls, {SYS_setgroups, SYS_setresgid, SYS_setresuid});
  return f;
}

RoleFilter vcpu(const FilterNeeds& needs) {
  RoleFilter f;
  add(f.syscalls, {SYS_read, SYS_pread64});  // KVM's binary stats fd (--stats).
  // --exit-log's stream: glibc fstat()s a FILE on its first write.
  add(f.syscalls, {SYS_newfstatat, SYS_fstat});
  if (needs.stats) add(f.syscalls, {SYS_openat});  // /proc/thread-self/schedstat at exit.
  // The exit loop and its error paths (register dump), interrupts of
  // devices on the PIC/IOAPIC (the UART), KVM's stats fd.
  add(f.ioctls, {KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS,
                 KVM_GET_STATS_FD});
  f.hot_syscall = SYS_ioctl;  // KVM_RUN, once per exit.
  // Parking for a pause: the guest's kvmclock is told it was stopped.
  add(f.ioctls, {KVM_KVMCLOCK_CTRL});
  // Waking from ACPI S3 (a multiboot guest): the vCPU resets itself.
  add(f.ioctls, {KVM_SET_REGS, KVM_SET_SREGS, kKvmSetMsrs, KVM_SET_FPU, KVM_SET_LAPIC,
                 KVM_SET_MP_STATE});
  // DRIVER_OK and reset, written by the guest: a device's activation and its
  // stop (the I/O thread is asked for, and joined, here; the launcher starts
  // it). A tap's offloads follow the guest's features; vhost-net is set up.
  add(f.syscalls, kActivation);
  add(f.ioctls, {TUNSETOFFLOAD});
  add(f.ioctls, kVhostIoctls);
  return f;
}

// The launcher (base/util/thread_launcher.h) only starts threads, but every
// thread it starts inherits its filter before narrowing it to its own: so its
// list is the union of theirs. No ioctl: none of them makes one. The
// blk-workers and slirp threads are not here: they start while the machine
// is built, from the main thread, before the launcher exists.
RoleFilter launcher() {
  RoleFilter f;
  add(f.syscalls, kThreadStart);
  for (const RoleFilter& child : {block_io(), net_io(), vhost_net_io()}) {
    for (int nr : child.syscalls) {
      bool present = false;
      for (int have : f.syscalls) present = present || have == nr;
      if (!present) f.syscalls.push_back(nr);
    }
  }
  return f;
}

RoleFilter api() {
  RoleFilter f;
  // The poll loop over the listening socket and its clients.
  add(f.syscalls, {SYS_poll, SYS_ppoll, SYS_accept4, SYS_recvfrom, SYS_sendto, SYS_getsockopt,
                   SYS_read, SYS_geteuid});
  // vm.info and vm.counters: /proc/self/task/TID/{stat,schedstat}, the
  // scheduling of each vCPU thread, KVM's binary stats fds (pread).
  add(f.syscalls, {SYS_openat, SYS_newfstatat, SYS_fstat, SYS_lseek, SYS_pread64,
                   SYS_sched_getscheduler, SYS_sched_getparam});
  // The HTTP module, loaded on the first client (app/api/http_module.h):
  // the dynamic loader opens and maps it and its libraries (openat, read,
  // fstat, mmap and mprotect above and in kCommon), and OpenSSL's
  // initialisation, which Debian's libcpp-httplib runs, reads its
  // configuration file and asks sysinfo for the memory size. httplib's
  // server ignores SIGPIPE when it is made, which is on the API thread.
  add(f.syscalls, {SYS_sysinfo});
  f.sigaction_signals = {SIGPIPE};
  // vm.shutdown: the power button's interrupt; vm.pause: vhost-net's
  // backend detached and attached again.
  add(f.ioctls, {KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, vhost_abi::kNetSetBackend});
  return f;
}

RoleFilter main_thread(const FilterNeeds& needs) {
  RoleFilter f;
  // The poll loop: the stop eventfd, the signalfd, stdin; stdout.
  add(f.syscalls, {SYS_poll, SYS_ppoll, SYS_read, SYS_writev, SYS_fcntl});
  // Shutdown: joins and resets the devices (vhost backend detached, disk
  // I/O in flight waited for), then the machine's teardown.
  add(f.syscalls, {SYS_io_uring_enter, SYS_fdatasync, SYS_fsync, SYS_epoll_ctl, SYS_flock});
  if (needs.stats) {
    add(f.syscalls, {SYS_openat, SYS_newfstatat, SYS_fstat, SYS_lseek, SYS_pread64});
  }
  if (needs.api_socket) add(f.syscalls, {SYS_unlink});
  // Console: the UART's interrupt; the terminal's mode (restored at exit).
  add(f.ioctls, {KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, TCGETS, TCSETS, TCSETSW, TCSETSF,
                 vhost_abi::kNetSetBackend, KVM_IOEVENTFD, KVM_IRQFD});
  return f;
}

}  // namespace

RoleFilter role_filter(ThreadRole role, const FilterNeeds& needs) {
  RoleFilter f;
  switch (role) {
    case ThreadRole::kMain: f = main_thread(needs); break;
    case ThreadRole::kVcpu: f = vcpu(needs); break;
    case ThreadRole::kBlockIo: f = block_io(); break;
    case ThreadRole::kBlockWorker:
      add(f.syscalls, kDiskIo);
      // They exist when --jail changes the process's ids: glibc makes each
      // thread make the calls itself (setxid). By then kvmm holds no
      // capability, so the calls can only repeat the ids it has.
      if (needs.jail) add(f.syscalls, {SYS_setgroups, SYS_setresgid, SYS_setresuid});
      break;
    case ThreadRole::kNetIo: f = net_io(); break;
    case ThreadRole::kVhostNetIo: f = vhost_net_io(); break;
    case ThreadRole::kApi: f = api(); break;
    case ThreadRole::kSlirp: f = slirp(needs); break;
    case ThreadRole::kLauncher: f = launcher(); break;
  }
  add(f.syscalls, kCommon);
  // Thread names: set by a thread for itself, read by the SIGSYS handler.
  f.prctl_options = {PR_SET_NAME, PR_GET_NAME};
  return f;
}

std::string_view role_name(ThreadRole role) {
  switch (role) {
    case ThreadRole::kMain: return "main";
    case ThreadRole::kVcpu: return "vcpu";
    case ThreadRole::kBlockIo: return "virtio-blk";
    case ThreadRole::kBlockWorker: return "blk-worker";
    case ThreadRole::kNetIo: return "virtio-net";
    case ThreadRole::kVhostNetIo: return "vhost-net";
    case ThreadRole::kApi: return "api";
    case ThreadRole::kSlirp: return "slirp";
    case ThreadRole::kLauncher: return "launcher";
  }
  return "unknown";
}

}  // namespace kvmm

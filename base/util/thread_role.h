#pragma once
// What a kvmm thread is for, and the hook each thread calls as it starts.
//
// The vmm layer confines each thread with a seccomp filter made for its role
// (vmm/security/seccomp_filters.h); devices/ start threads too but may not
// include vmm/, so they only call on_thread_start() and the vmm layer installs
// the hook. Without a hook (unit tests, `kvmm bench`, --seccomp=off) the call
// does nothing.
//
// Threads: set_thread_start_hook() is called on the main thread before any
// thread that calls on_thread_start() exists; on_thread_start() is called by
// each thread for itself.
#include <cstdint>

namespace kvmm {

enum class ThreadRole : uint8_t {
  kMain,         // main: builds the VM, then the stop/signal/console poll loop
  kVcpu,         // vcpu0, vcpu1, …: KVM_RUN and the exit handlers
  kBlockIo,      // virtio-blk0, …: the disk's queue and io_uring
  kBlockWorker,  // blk-worker: blocking disk I/O (KVMM_BLOCK_IO=thread)
  kNetIo,        // virtio-net0, …: the queues and the tap
  kVhostNetIo,   // virtio-net0 with vhost=on: call eventfds relayed to the irqfd
  kApi,          // api: the VM's API socket (app/api/api_server.h)
  kSlirp,        // slirp0, …: --net user's libslirp and the host's sockets it opens
  kLauncher,     // launcher: starts the device I/O threads (base/util/thread_launcher.h)
};
inline constexpr int kThreadRoleCount = 9;

// Called by a thread for itself once every fd it uses is open; it must not
// return unless the thread may go on (a hook that cannot confine the thread
// ends the process). It also keeps the thread's stack out of huge pages
// (thread_stack.h).
using ThreadStartHook = void (*)(ThreadRole role);

void set_thread_start_hook(ThreadStartHook hook);
void on_thread_start(ThreadRole role);

}  // namespace kvmm

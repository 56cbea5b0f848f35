#pragma once
// User-mode networking (`--net user`) as a virtio-net backend: libslirp, the
// TCP/IP stack of QEMU's -netdev user, turns the guest's frames into the
// host's ordinary sockets, so a guest reaches the network, and forwarded host
// ports reach the guest, with no tap and no privilege.
//
// The device's end of the backend is one end of a SOCK_SEQPACKET socketpair
// (a frame per read and per writev, the 12-byte virtio_net_hdr first, as a
// tap's). The other end belongs to the "slirp<N>" thread, which runs libslirp
// in a poll(2) loop over that end, libslirp's own sockets and a stop eventfd.
// libslirp never sees an offload: the device offers none with this backend
// (the guest computes checksums and segments), and the header toward the
// guest is always zero.
//
// A frame for the guest that finds the socketpair full (the guest not
// taking frames, or paused) is dropped, as on a wire; TCP sends it again.
//
// Threads: the constructor sets libslirp up (its host-forward sockets are
// bound there, so a port in use is refused before the VM starts) and then
// hands it to the slirp thread, the only one that touches it until the
// destructor stops and joins that thread. fd() is the device's.
#include <memory>
#include <string>
#include <thread>

#include "base/util/unique_fd.h"
#include "devices/virtio/net/net_backend.h"
#include "devices/virtio/net/user_net_options.h"

namespace kvmm {

class SlirpBackend : public NetBackend {
 public:
  // Starts libslirp with `options` and its thread "slirp<index>". Throws
  // Error with the fix when a host forward cannot be bound (port in use,
  // address not on this host, a privileged port) or libslirp refuses.
  SlirpBackend(const UserNetOptions& options, unsigned index);
  ~SlirpBackend() override;
  SlirpBackend(const SlirpBackend&) = delete;
  SlirpBackend& operator=(const SlirpBackend&) = delete;

  int fd() const override { return device_end_.get(); }
  // The device offers no offloads with this backend: nothing to change.
  void set_guest_features(uint64_t) override {}
  // "user-mode network 10.0.2.0/24".
  std::string describe() const override { return description_; }

  class Stack;  // libslirp and the thread's loop (slirp_backend.cc).

 private:
  UniqueFd device_end_;
  std::string description_;
  std::unique_ptr<Stack> stack_;
  std::thread thread_;  // Last: stopped and joined before the stack goes.
};

}  // namespace kvmm

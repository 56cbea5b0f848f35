#pragma once
// A Linux TAP interface as a virtio-net backend: IFF_TAP | IFF_NO_PI |
// IFF_VNET_HDR, so each packet carries the same 12-byte virtio_net_hdr the
// guest's driver uses (TUNSETVNETHDRSZ), and offloads pass through untouched.
#include <cstdint>
#include <string>

#include "base/util/unique_fd.h"
#include "devices/virtio/net/net_backend.h"

namespace kvmm {

class Tap : public NetBackend {
 public:
  // Opens /dev/net/tun and attaches to (or creates) the tap `name`. Throws
  // Error with the fix: no /dev/net/tun, no permission (CAP_NET_ADMIN or a
  // tap created for this user), busy, or `name` is not a tap.
  static Tap open(const std::string& name);
  // Takes a tap file descriptor opened by a parent (libvirt-style fd
  // passing). Throws Error unless `fd` is an open tap with IFF_NO_PI and
  // IFF_VNET_HDR.
  static Tap adopt(int fd);

  int fd() const override { return fd_.get(); }
  void set_guest_features(uint64_t features) override;
  std::string describe() const override { return "tap " + name_; }
  const std::string& name() const { return name_; }

  // TUNSETOFFLOAD flags for the virtio-net features the driver accepted.
  static unsigned offload_flags(uint64_t features);

 private:
  Tap(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  // Non-blocking and a 12-byte vnet header; both apply to the queue the fd is.
  void configure();

  UniqueFd fd_;
  std::string name_;
};

}  // namespace kvmm

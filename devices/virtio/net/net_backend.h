#pragma once
// Where a virtio-net device's frames go: a tap (Tap), libslirp behind a
// socketpair (SlirpBackend, --net user), or in tests any non-blocking file
// descriptor that keeps packet boundaries.
#include <cstdint>
#include <string>

namespace kvmm {

class NetBackend {
 public:
  virtual ~NetBackend() = default;
  // Non-blocking; each read(2) returns one packet and each writev(2) sends
  // one, both starting with the 12-byte virtio_net_hdr.
  virtual int fd() const = 0;
  // The driver accepted `features` (virtio-net bits): from now on hand the
  // guest only the offloads it can take (partial checksums, TSO). Throws Error.
  virtual void set_guest_features(uint64_t features) = 0;
  // For messages: "tap kvmm-tap0".
  virtual std::string describe() const = 0;
};

}  // namespace kvmm

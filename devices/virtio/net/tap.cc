#include "devices/virtio/net/tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/util/error.h"
#include "devices/virtio/net/virtio_net_spec.h"

namespace kvmm {

namespace {

constexpr const char* kTunPath = "/dev/net/tun";

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

Tap Tap::open(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    throw Error("tap name '" + name + "' must be 1 to " + std::to_string(IFNAMSIZ - 1) +
                " characters");
  }
  UniqueFd fd(::open(kTunPath, O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    const int error = errno;
    if (error == ENOENT || error == ENODEV || error == ENXIO) {
      throw Error(std::string("cannot open ") + kTunPath + ": " + errno_text(error) +
                  "; load the tun module (modprobe tun)");
    }
    if (error == EACCES || error == EPERM) {
      throw Error(std::string("cannot open ") + kTunPath + ": " + errno_text(error) +
                  "; run kvmm as a user that may open it (root, or chmod 0666 " + kTunPath + ")");
    }
    throw_errno(std::string("cannot open ") + kTunPath, error);
  }
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd.get(), TUNSETIFF, &request) < 0) {
    const int error = errno;
    switch (error) {
      case EPERM:
      case EACCES:
        throw Error("cannot attach to tap " + name +
                    ": operation not permitted; kvmm needs CAP_NET_ADMIN, or a tap created for "
                    "this user first: ip tuntap add " + name +
                    " mode tap user $USER (tools/kvmm-net tap " + name + " --user $USER)");
      case EBUSY:
        throw Error("tap " + name +
                    " is busy: another process has it open; stop that process or use another tap");
      case EINVAL:
        throw Error("cannot attach to tap " + name + ": " + name +
                    " exists and is not a single-queue tap (a tun, a multi-queue tap or another "
                    "kind of interface); pick another name");
      default:
        throw_errno("cannot attach to tap " + name, error);
    }
  }
  Tap tap(std::move(fd), request.ifr_name);
  tap.configure();
  return tap;
}

Tap Tap::adopt(int fd) {
  const std::string what = "--net fd=" + std::to_string(fd);
  if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
    throw Error(what + ": not an open file descriptor; the parent must pass the tap's fd open "
                       "(without close-on-exec)");
  }
  ifreq request{};
  if (::ioctl(fd, TUNGETIFF, &request) < 0) {
    throw Error(what + ": not a tap (TUNGETIFF: " + errno_text(errno) +
                "); pass a /dev/net/tun fd attached with TUNSETIFF");
  }
  const unsigned flags = static_cast<uint16_t>(request.ifr_flags);
  const std::string name(request.ifr_name, strnlen(request.ifr_name, IFNAMSIZ));
  if ((flags & IFF_TAP) == 0) {
    throw Error(what + ": " + name + " is a tun (IP) device; kvmm needs a tap (IFF_TAP)");
  }
  if ((flags & IFF_NO_PI) == 0 || (flags & IFF_VNET_HDR) == 0) {
    throw Error(what + ": tap " + name +
                " was attached without IFF_NO_PI and IFF_VNET_HDR; attach it with "
                "IFF_TAP|IFF_NO_PI|IFF_VNET_HDR");
  }
  // Our own descriptor, so kvmm closes exactly what it owns.
  UniqueFd own(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!own.valid()) throw_errno(what + ": cannot duplicate it");
  Tap tap(std::move(own), name);
  tap.configure();
  return tap;
}

void Tap::configure() {
  const int flags = ::fcntl(fd_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    throw_errno("tap " + name_ + ": cannot make it non-blocking");
  }
  // VERSION_1's header always has num_buffers (§5.1.6.1): 12 bytes both ways.
  int header_size = static_cast<int>(kVirtioNetHdrSize);
  if (::ioctl(fd_.get(), TUNSETVNETHDRSZ, &header_size) < 0) {
    throw_errno("tap " + name_ + ": TUNSETVNETHDRSZ 12 failed (kernel too old?)");
  }
  // No offloads toward the guest until its driver accepts some.
  if (::ioctl(fd_.get(), TUNSETOFFLOAD, 0ul) < 0) {
    throw_errno("tap " + name_ + ": TUNSETOFFLOAD failed");
  }
}

unsigned Tap::offload_flags(uint64_t features) {
  // The tap only honours TSO with CSUM (as the spec requires GUEST_CSUM for
  // GUEST_TSO4/6, §5.1.3.1).
  if ((features & kVirtioNetFGuestCsum) == 0) return 0;
  unsigned flags = TUN_F_CSUM;
  if (features & kVirtioNetFGuestTso4) flags |= TUN_F_TSO4;
  if (features & kVirtioNetFGuestTso6) flags |= TUN_F_TSO6;
  if ((features & kVirtioNetFGuestEcn) && (flags & (TUN_F_TSO4 | TUN_F_TSO6))) {
    flags |= TUN_F_TSO_ECN;
  }
  return flags;
}

void Tap::set_guest_features(uint64_t features) {
  const unsigned flags = offload_flags(features);
  if (::ioctl(fd_.get(), TUNSETOFFLOAD, static_cast<unsigned long>(flags)) < 0) {
    throw_errno("tap " + name_ + ": TUNSETOFFLOAD " + std::to_string(flags) + " failed");
  }
}

}  // namespace kvmm

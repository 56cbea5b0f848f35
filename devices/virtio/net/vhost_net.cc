#include "devices/virtio/net/vhost_net.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/util/error.h"
#include "devices/virtio/net/vhost_abi.h"

namespace kvmm {

namespace {

using namespace vhost_abi;

constexpr const char* kVhostNetPath = "/dev/vhost-net";

void vhost_ioctl(int fd, unsigned long request, const void* arg, const char* what) {
  if (::ioctl(fd, request, arg) < 0) throw_errno(std::string("vhost-net: ") + what + " failed");
}

uint64_t host_address(const GuestMemory& memory, uint64_t gpa, uint64_t len, const char* what) {
  const auto host = memory.slice(GuestAddress{gpa}, len);
  // The transport validated the rings; this is the host-side invariant.
  if (!host) throw Error(std::string("vhost-net: the ") + what + " is outside guest memory");
  return reinterpret_cast<uint64_t>(host->data());
}

}  // namespace

uint64_t vhost_device_features(uint64_t offered, uint64_t vhost_features) {
  return offered & ~(kVhostTransportFeatures & ~vhost_features);
}

VhostNet VhostNet::open() {
  UniqueFd fd(::open(kVhostNetPath, O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    const int error = errno;
    if (error == ENOENT) {
      throw Error(std::string("vhost=on: ") + kVhostNetPath +
                  " does not exist; load the module (modprobe vhost_net) or drop vhost=on");
    }
    throw Error(std::string("vhost=on: cannot open ") + kVhostNetPath + ": " +
                std::strerror(error) +
                (error == EACCES ? "; run kvmm as root or give this user access to it" : "") +
                ", or drop vhost=on");
  }
  // The owner's memory is what vhost's worker reads and writes: this process.
  vhost_ioctl(fd.get(), kSetOwner, nullptr, "VHOST_SET_OWNER");
  uint64_t features = 0;
  vhost_ioctl(fd.get(), kGetFeatures, &features, "VHOST_GET_FEATURES");
  if ((features & (1ull << 32)) == 0) {
    throw Error("vhost=on: this kernel's vhost-net lacks VIRTIO_F_VERSION_1; drop vhost=on");
  }
  return VhostNet(std::move(fd), features);
}

void VhostNet::start(const GuestMemory& memory, uint64_t features, std::span<const Ring> rings,
                     int tap_fd) {
  stop();
  const int fd = fd_.get();
  const uint64_t acked = features & kVhostTransportFeatures & features_;
  vhost_ioctl(fd, kSetFeatures, &acked, "VHOST_SET_FEATURES");

  const auto& regions = memory.regions();
  std::vector<uint8_t> table(sizeof(MemoryHeader) + regions.size() * sizeof(MemoryRegion));
  const MemoryHeader header{static_cast<uint32_t>(regions.size()), 0};
  std::memcpy(table.data(), &header, sizeof(header));
  for (size_t i = 0; i < regions.size(); ++i) {
    const MemoryRegion region{regions[i].base.value, regions[i].size(),
                              reinterpret_cast<uint64_t>(regions[i].mapping.data()), 0};
    std::memcpy(table.data() + sizeof(header) + i * sizeof(region), &region, sizeof(region));
  }
  vhost_ioctl(fd, kSetMemTable, table.data(), "VHOST_SET_MEM_TABLE");

  for (unsigned i = 0; i < rings.size(); ++i) {
    const Ring& ring = rings[i];
    const VringState num{i, ring.size};
    vhost_ioctl(fd, kSetVringNum, &num, "VHOST_SET_VRING_NUM");
    // Every activation starts the rings from index 0, as the transport does.
    const VringState base{i, 0};
    vhost_ioctl(fd, kSetVringBase, &base, "VHOST_SET_VRING_BASE");
    // §2.7: 16-byte descriptors; avail and used with their flags, index and
    // event fields around the entries.
    VringAddr addr{};
    addr.index = i;
    addr.desc_user_addr = host_address(memory, ring.desc_table, 16ull * ring.size, "descriptor table");
    addr.avail_user_addr = host_address(memory, ring.avail_ring, 6 + 2ull * ring.size, "avail ring");
    addr.used_user_addr = host_address(memory, ring.used_ring, 6 + 8ull * ring.size, "used ring");
    vhost_ioctl(fd, kSetVringAddr, &addr, "VHOST_SET_VRING_ADDR");
    const VringFile kick{i, ring.kick_fd};
    vhost_ioctl(fd, kSetVringKick, &kick, "VHOST_SET_VRING_KICK");
    const VringFile call{i, ring.call_fd};
    vhost_ioctl(fd, kSetVringCall, &call, "VHOST_SET_VRING_CALL");
  }
  rings_ = static_cast<unsigned>(rings.size());
  tap_fd_ = tap_fd;
  if (paused_) return;  // resume() attaches the tap.
  try {
    attach();
  } catch (const Error&) {
    stop();
    throw;
  }
}

void VhostNet::stop() {
  detach();
  rings_ = 0;
  tap_fd_ = -1;
}

void VhostNet::pause() {
  paused_ = true;
  detach();
}

void VhostNet::resume() {
  paused_ = false;
  attach();
}

void VhostNet::attach() {
  for (unsigned i = attached_; i < rings_; ++i) {
    try {
      set_backend(i, tap_fd_);
    } catch (const Error&) {
      detach();
      throw;
    }
    attached_ = i + 1;
  }
}

void VhostNet::detach() {
  // Detaching the backend makes vhost finish the frame in hand and stop.
  for (unsigned i = 0; i < attached_; ++i) {
    const VringFile file{i, -1};
    ::ioctl(fd_.get(), kNetSetBackend, &file);
  }
  attached_ = 0;
}

void VhostNet::set_backend(unsigned ring, int fd) {
  const VringFile file{ring, fd};
  vhost_ioctl(fd_.get(), kNetSetBackend, &file, "VHOST_NET_SET_BACKEND");
}

}  // namespace kvmm

#pragma once
// The vhost ioctls and structures kvmm uses (<linux/vhost.h>, Linux 6.1).
// That header cannot be included from C++: it pulls in <linux/virtio_ring.h>,
// whose inline C casts from void* do not compile as C++. The layouts below
// are the kernel's; the ioctl numbers encode their sizes.
#include <sys/ioctl.h>

#include <cstdint>

namespace kvmm::vhost_abi {

inline constexpr unsigned kVhostVirtio = 0xAF;

struct VringState {  // struct vhost_vring_state
  uint32_t index;
  uint32_t num;
};
struct VringFile {  // struct vhost_vring_file; fd -1 detaches
  uint32_t index;
  int32_t fd;
};
struct VringAddr {  // struct vhost_vring_addr; addresses in this process
  uint32_t index;
  uint32_t flags;
  uint64_t desc_user_addr;
  uint64_t used_user_addr;
  uint64_t avail_user_addr;
  uint64_t log_guest_addr;
};
struct MemoryHeader {  // struct vhost_memory without its regions
  uint32_t nregions;
  uint32_t padding;
};
struct MemoryRegion {  // struct vhost_memory_region
  uint64_t guest_phys_addr;
  uint64_t memory_size;
  uint64_t userspace_addr;
  uint64_t flags_padding;
};
static_assert(sizeof(VringState) == 8 && sizeof(VringFile) == 8 && sizeof(VringAddr) == 40);
static_assert(sizeof(MemoryHeader) == 8 && sizeof(MemoryRegion) == 32);

inline constexpr unsigned long kGetFeatures = _IOR(kVhostVirtio, 0x00, uint64_t);
inline constexpr unsigned long kSetFeatures = _IOW(kVhostVirtio, 0x00, uint64_t);
inline constexpr unsigned long kSetOwner = _IO(kVhostVirtio, 0x01);
inline constexpr unsigned long kSetMemTable = _IOW(kVhostVirtio, 0x03, MemoryHeader);
inline constexpr unsigned long kSetVringNum = _IOW(kVhostVirtio, 0x10, VringState);
inline constexpr unsigned long kSetVringAddr = _IOW(kVhostVirtio, 0x11, VringAddr);
inline constexpr unsigned long kSetVringBase = _IOW(kVhostVirtio, 0x12, VringState);
inline constexpr unsigned long kSetVringKick = _IOW(kVhostVirtio, 0x20, VringFile);
inline constexpr unsigned long kSetVringCall = _IOW(kVhostVirtio, 0x21, VringFile);
inline constexpr unsigned long kNetSetBackend = _IOW(kVhostVirtio, 0x30, VringFile);

}  // namespace kvmm::vhost_abi

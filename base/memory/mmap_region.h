#pragma once
// An owned mmap(2) mapping, unmapped exactly once.
#include <cstddef>
#include <cstdint>
#include <utility>

namespace kvmm {

class MmapRegion {
 public:
  MmapRegion() = default;
  // Anonymous, private, zero-filled memory for guest RAM; pages are
  // allocated on first touch, so a large --mem costs nothing until the guest
  // uses it. It starts on a kHugePageSize boundary and is advised for
  // transparent huge pages (below), with an inaccessible guard page on
  // either side.
  static MmapRegion anonymous(size_t size);
  static constexpr size_t kHugePageSize = size_t{2} << 20;
  static constexpr size_t kGuardSize = 4096;
  // A shared mapping of `fd` (e.g. a vCPU's kvm_run page).
  static MmapRegion shared_fd(int fd, size_t size, const char* what);

  MmapRegion(MmapRegion&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        guard_(std::exchange(other.guard_, 0)) {}
  MmapRegion& operator=(MmapRegion&& other) noexcept;
  MmapRegion(const MmapRegion&) = delete;
  MmapRegion& operator=(const MmapRegion&) = delete;
  ~MmapRegion();

  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return size_; }

 private:
  MmapRegion(void* addr, size_t size, size_t guard = 0) : addr_(addr), size_(size), guard_(guard) {}
  void unmap();
  void* addr_ = nullptr;
  size_t size_ = 0;
  size_t guard_ = 0;  // Guard bytes mapped on either side of the region.
};

}  // namespace kvmm

#include "base/memory/mmap_region.h"

#include <sys/mman.h>

#include <string>

#include "base/util/error.h"

namespace kvmm {

MmapRegion MmapRegion::anonymous(size_t size) {
  // MAP_NORESERVE: guest RAM is overcommitted like in every VMM; the guest
  // only costs what it touches.
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (addr == MAP_FAILED) {
    throw_errno("cannot map " + std::to_string(size >> 20) +
                " MiB of guest memory (try a smaller --mem)");
  }
  // Guest RAM stays out of core files (the guest's secrets, and gigabytes).
  // Best effort: a kernel that refuses still runs the guest.
  ::madvise(addr, size, MADV_DONTDUMP);
  return MmapRegion(addr, size);
}

MmapRegion MmapRegion::shared_fd(int fd, size_t size, const char* what) {
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) throw_errno(std::string("cannot map ") + what);
  return MmapRegion(addr, size);
}

MmapRegion& MmapRegion::operator=(MmapRegion&& other) noexcept {
  if (this != &other) {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MmapRegion::~MmapRegion() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
}

}  // namespace kvmm

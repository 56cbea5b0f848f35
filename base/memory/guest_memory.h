#pragma once
// GuestMemory: the guest's RAM, as a set of non-overlapping regions, each an
// anonymous host mapping that the VM registers as one KVM memory slot.
//
// It is the only way any kvmm code reads or writes guest memory. Every access
// names a guest physical range [gpa, gpa+len) and is checked whole, with
// overflow-safe arithmetic: a range must lie inside one region (regions are
// never merged, so a range across a gap or across two regions is refused).
// Guest-supplied addresses are hostile; a refused access is a normal result
// (std::nullopt / false), not an exception.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "base/memory/guest_address.h"
#include "base/memory/mmap_region.h"

namespace kvmm {

class GuestMemory {
 public:
  struct Region {
    GuestAddress base;
    MmapRegion mapping;
    uint64_t size() const { return mapping.size(); }
  };

  GuestMemory() = default;
  GuestMemory(GuestMemory&&) = default;
  GuestMemory& operator=(GuestMemory&&) = default;

  // Adds a zero-filled region. Throws Error on zero size, wrap-around, or
  // overlap with an existing region (setup errors, never guest input).
  void add_region(GuestAddress base, uint64_t size);

  const std::vector<Region>& regions() const { return regions_; }
  uint64_t total_size() const;

  // Host view of [gpa, gpa+len), or nullopt unless the whole range lies in
  // one region. len == 0 is accepted when gpa is inside (or at the end of) a
  // region, so empty buffers need no special casing by callers.
  std::optional<std::span<uint8_t>> slice(GuestAddress gpa, uint64_t len) const;

  // Drops the host's page-table entries for the 4 KiB page at `gpa` (which
  // must be page aligned) and keeps its contents: mprotect(PROT_NONE), then
  // back to read/write. The kernel's MMU notifiers make KVM drop its own
  // mapping of the page as well, so the guest's next access to it faults
  // into KVM (QEMU's pc-testdev flush-page port asks for this). False when
  // the page is not wholly inside one region or mprotect fails.
  static constexpr uint64_t kFlushPageSize = 4096;
  [[nodiscard]] bool flush_page(GuestAddress gpa) const;

  [[nodiscard]] bool read(GuestAddress gpa, std::span<uint8_t> out) const;
  [[nodiscard]] bool write(GuestAddress gpa, std::span<const uint8_t> in) const;

  // Objects are copied, never referenced in place: the guest can change its
  // memory at any moment, so a value is only trustworthy once copied out.
  template <typename T>
  std::optional<T> read_obj(GuestAddress gpa) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    if (!read(gpa, std::span(reinterpret_cast<uint8_t*>(&value), sizeof(T)))) return std::nullopt;
    return value;
  }
  template <typename T>
  [[nodiscard]] bool write_obj(GuestAddress gpa, const T& value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    return write(gpa, std::span(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }

 private:
  std::vector<Region> regions_;  // Sorted by base.
};

}  // namespace kvmm

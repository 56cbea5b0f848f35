#include "base/memory/guest_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/util/error.h"
#include "base/util/format.h"

namespace kvmm {

void GuestMemory::add_region(GuestAddress base, uint64_t size) {
  if (size == 0) throw Error("guest memory region at " + hex(base.value) + " has zero size");
  auto end = base.checked_add(size);
  if (!end) throw Error("guest memory region at " + hex(base.value) + " wraps past 2^64");
  for (const Region& r : regions_) {
    // Half-open ranges [a, a+n) overlap iff each starts before the other ends.
    if (base.value < r.base.value + r.size() && r.base.value < end->value) {
      throw Error("guest memory region at " + hex(base.value) + " overlaps the region at " +
                  hex(r.base.value));
    }
  }
  regions_.push_back(Region{base, MmapRegion::anonymous(size)});
  std::sort(regions_.begin(), regions_.end(),
            [](const Region& a, const Region& b) { return a.base < b.base; });
}

uint64_t GuestMemory::total_size() const {
  uint64_t total = 0;
  for (const Region& r : regions_) total += r.size();
  return total;
}

std::optional<std::span<uint8_t>> GuestMemory::slice(GuestAddress gpa, uint64_t len) const {
  // Few regions (two at most today): a linear scan beats a map.
  for (const Region& r : regions_) {
    if (gpa.value < r.base.value) continue;
    const uint64_t offset = gpa.value - r.base.value;
    if (offset > r.size()) continue;
    // offset + len <= size, written so that it cannot overflow. An empty range
    // may sit at the very end of a region; a non-empty one must start inside.
    if (len > r.size() - offset) continue;
    return std::span<uint8_t>(r.mapping.data() + offset, static_cast<size_t>(len));
  }
  return std::nullopt;
}

bool GuestMemory::flush_page(GuestAddress gpa) const {
  if (gpa.value % kFlushPageSize != 0) return false;
  auto host = slice(gpa, kFlushPageSize);
  if (!host) return false;
  // mprotect works on whole host pages: a region whose host mapping does not
  // line up with 4 KiB guest pages cannot be flushed page by page.
  const auto host_page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto address = reinterpret_cast<uintptr_t>(host->data());
  if (host_page == 0 || host_page > kFlushPageSize || address % host_page != 0) return false;
  if (mprotect(host->data(), host->size(), PROT_NONE) != 0) return false;
  // Restoring access cannot fail where revoking it succeeded; if it did, the
  // next host access to the page would crash, so treat it as the VMM bug it is.
  if (mprotect(host->data(), host->size(), PROT_READ | PROT_WRITE) != 0) std::abort();
  return true;
}

bool GuestMemory::read(GuestAddress gpa, std::span<uint8_t> out) const {
  auto host = slice(gpa, out.size());
  if (!host) return false;
  if (!out.empty()) std::memcpy(out.data(), host->data(), out.size());
  return true;
}

bool GuestMemory::write(GuestAddress gpa, std::span<const uint8_t> in) const {
  auto host = slice(gpa, in.size());
  if (!host) return false;
  if (!in.empty()) std::memcpy(host->data(), in.data(), in.size());
  return true;
}

}  // namespace kvmm

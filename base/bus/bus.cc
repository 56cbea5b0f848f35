#include "base/bus/bus.h"

#include <algorithm>
#include <cstring>

#include "base/util/error.h"
#include "base/util/format.h"
#include "base/util/log.h"

namespace kvmm {

namespace {
// The addresses remembered (each reported once); past this bound a guest
// probing many addresses only grows the rate-limited log's suppressed count,
// never our memory.
constexpr size_t kMaxReportedAddresses = 64;
}  // namespace

void Bus::insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t length,
                 std::string name) {
  if (length == 0) throw Error("device " + name + " at " + hex(base) + " has zero length");
  if (base > UINT64_MAX - length) throw Error("device " + name + " at " + hex(base) + " wraps");
  for (const Range& r : ranges_) {
    if (base < r.base + r.length && r.base < base + length) {
      throw Error("device " + name + " at " + hex(base) + " overlaps device " + r.name + " at " +
                  hex(r.base));
    }
  }
  ranges_.push_back(Range{base, length, std::move(device), std::move(name)});
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range& a, const Range& b) { return a.base < b.base; });
}

[[gnu::hot]] const Bus::Range* Bus::find(uint64_t addr, uint64_t size) const {
  // Last range whose base <= addr; ranges never overlap, so only it can hold addr.
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                             [](uint64_t a, const Range& r) { return a < r.base; });
  if (it == ranges_.begin()) return nullptr;
  const Range& r = *(it - 1);
  const uint64_t offset = addr - r.base;
  if (offset >= r.length || size > r.length - offset) return nullptr;
  return &r;
}

[[gnu::hot]] bool Bus::read(uint64_t addr, std::span<uint8_t> data) const {
  std::memset(data.data(), 0, data.size());
  if (const Range* r = find(addr, data.size())) {
    r->device->read(addr - r->base, data);
    return true;
  }
  std::memset(data.data(), 0xff, data.size());
  report_unhandled("read from", addr, data.size());
  return false;
}

[[gnu::hot]] bool Bus::write(uint64_t addr, std::span<const uint8_t> data) const {
  if (const Range* r = find(addr, data.size())) {
    r->device->write(addr - r->base, data);
    return true;
  }
  report_unhandled("write to", addr, data.size());
  return false;
}

void Bus::report_unhandled(const char* access, uint64_t addr, size_t size) const {
  std::atomic<uint64_t>& seen = seen_[(addr ^ (addr >> 12)) % kSeenSlots];
  if (seen.load(std::memory_order_relaxed) == addr + 1) return;
  bool remembered = true;
  {
    std::lock_guard lock(reported_mutex_);
    if (reported_.count(addr) != 0) {
      seen.store(addr + 1, std::memory_order_relaxed);
      return;
    }
    if (reported_.size() < kMaxReportedAddresses) {
      reported_.insert(addr);
      seen.store(addr + 1, std::memory_order_relaxed);
    } else {
      remembered = false;  // Past the bound: counted, never described.
    }
  }
  if (!remembered) {
    unhandled_log_.suppress();
    return;
  }
  const char* space = kind_ == Kind::kPio ? "port" : "MMIO address";
  unhandled_log_.log(std::string("guest ") + access + " unhandled " + space + " " + hex(addr) + " (" +
           std::to_string(size) + " bytes) ignored; reported once per address");
}

}  // namespace kvmm

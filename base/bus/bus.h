#pragma once
// An address space (the PIO ports or the MMIO physical addresses) mapped to
// devices. Built before the vCPUs start and never changed afterwards, so
// lookups take no lock.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/bus/bus_device.h"
#include "base/util/rate_limited_log.h"

namespace kvmm {

class Bus {
 public:
  enum class Kind { kPio, kMmio };
  explicit Bus(Kind kind) : kind_(kind) {}

  // Throws Error on zero length, wrap-around, or overlap with another range.
  void insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t length,
              std::string name);

  // Dispatch one access. The whole access [addr, addr+size) must fit inside
  // one device's range (not only its first byte). An access that hits no
  // device is ignored — reads see all ones, like an open bus on real
  // hardware — and logged once per address. Returns whether a device took it.
  bool read(uint64_t addr, std::span<uint8_t> data) const;
  bool write(uint64_t addr, std::span<const uint8_t> data) const;

  Kind kind() const { return kind_; }

 private:
  struct Range {
    uint64_t base;
    uint64_t length;
    std::shared_ptr<BusDevice> device;
    std::string name;
  };
  const Range* find(uint64_t addr, uint64_t size) const;
  void report_unhandled(const char* access, uint64_t addr, size_t size) const;

  Kind kind_;
  std::vector<Range> ranges_;  // Sorted by base.

  // The first look for an address already reported, without the lock: a
  // direct-mapped cache of such addresses (address + 1; 0 is empty). A guest
  // that polls a port nobody handles (kvm-unit-tests' vmexit times exactly
  // that) takes the lock only on a miss.
  static constexpr size_t kSeenSlots = 64;
  mutable std::array<std::atomic<uint64_t>, kSeenSlots> seen_{};

  // Guards `reported_`: vCPU threads may miss at the same time.
  mutable std::mutex reported_mutex_;
  // The addresses already reported (a bounded number): each is reported once.
  mutable std::unordered_set<uint64_t> reported_;
  // A guest can scan every address: the reports are rate-limited too.
  mutable RateLimitedLog unhandled_log_{""};
};

}  // namespace kvmm

#pragma once
// The kernel's own per-vCPU counters, from the KVM binary statistics fd
// (KVM_GET_STATS_FD on a vCPU fd, KVM_CAP_BINARY_STATS_FD; Documentation/
// virt/kvm/api.rst, "KVM_GET_STATS_FD"). The fd's bytes are a header, an id
// string, an array of descriptors and a data block of u64 values.
//
// The parser works on bytes, so it is unit-tested on a synthetic buffer; only
// read_kvm_stats() touches a real fd.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kvmm {

// struct kvm_stats_header, restated: all u32, no flexible array.
struct KvmStatsHeader {
  uint32_t flags;
  uint32_t name_size;    // Bytes of each descriptor's name[], NUL included.
  uint32_t num_desc;
  uint32_t id_offset;
  uint32_t desc_offset;  // From the start of the fd.
  uint32_t data_offset;  // From the start of the fd.
};
static_assert(sizeof(KvmStatsHeader) == 24);

// struct kvm_stats_desc without name[]: <linux/kvm.h> declares name[] with
// __DECLARE_FLEX_ARRAY, which in C++ adds a byte (see kvm_abi.h), so
// sizeof(kvm_stats_desc) is wrong here. One descriptor in the fd takes
// sizeof(KvmStatsDescFixed) + header.name_size bytes, as the kernel lays it out.
struct KvmStatsDescFixed {
  uint32_t flags;
  int16_t exponent;
  uint16_t size;      // Number of u64 values (1, or a histogram's buckets).
  uint32_t offset;    // Bytes from the start of the data block.
  uint32_t bucket_size;
};
static_assert(sizeof(KvmStatsDescFixed) == 16);

struct KvmStat {
  std::string name;
  uint32_t flags = 0;  // KVM_STATS_TYPE_* | KVM_STATS_UNIT_* | KVM_STATS_BASE_*
  std::vector<uint64_t> values;
};

// Bounds on what a header may ask for: far above any kernel's, low enough
// that a corrupt header cannot make kvmm allocate gigabytes.
inline constexpr uint32_t kMaxKvmStatNameSize = 4096;
inline constexpr uint32_t kMaxKvmStatDescriptors = 4096;

// Each throws Error naming what is malformed.
KvmStatsHeader parse_kvm_stats_header(std::span<const uint8_t> bytes);
// `block`: the header.num_desc descriptors, starting at header.desc_offset.
// Returns the stats with their values still empty.
std::vector<KvmStat> parse_kvm_stats_descriptors(const KvmStatsHeader& header,
                                                 std::span<const uint8_t> block,
                                                 std::vector<KvmStatsDescFixed>& fixed);
// Bytes of the data block the descriptors reach.
uint64_t kvm_stats_data_size(std::span<const KvmStatsDescFixed> fixed);
// Fills each stat's values from the data block.
void fill_kvm_stats_values(std::span<const KvmStatsDescFixed> fixed, std::span<const uint8_t> data,
                           std::vector<KvmStat>& stats);

// The whole fd's contents as one buffer (tests), or a real stats fd.
std::vector<KvmStat> parse_kvm_stats(std::span<const uint8_t> file);
std::vector<KvmStat> read_kvm_stats(int stats_fd);

}  // namespace kvmm

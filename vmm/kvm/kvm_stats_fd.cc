#include "vmm/kvm/kvm_stats_fd.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/util/error.h"

namespace kvmm {

namespace {

// [offset, offset+size) inside a buffer of `total` bytes, without overflow.
bool fits(uint64_t offset, uint64_t size, uint64_t total) {
  return offset <= total && size <= total - offset;
}

uint64_t descriptor_size(const KvmStatsHeader& header) {
  return sizeof(KvmStatsDescFixed) + uint64_t{header.name_size};
}

void pread_exact(int fd, std::span<uint8_t> out, uint64_t offset, const char* what) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0) throw_errno(std::string("reading the KVM stats ") + what + " failed");
    if (n == 0) throw Error(std::string("the KVM stats fd ended inside its ") + what);
    done += static_cast<size_t>(n);
  }
}

}  // namespace

KvmStatsHeader parse_kvm_stats_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < sizeof(KvmStatsHeader)) throw Error("KVM stats header is truncated");
  KvmStatsHeader header;
  std::memcpy(&header, bytes.data(), sizeof header);
  if (header.name_size == 0 || header.name_size > kMaxKvmStatNameSize) {
    throw Error("KVM stats header has name size " + std::to_string(header.name_size));
  }
  if (header.num_desc > kMaxKvmStatDescriptors) {
    throw Error("KVM stats header has " + std::to_string(header.num_desc) + " descriptors");
  }
  return header;
}

std::vector<KvmStat> parse_kvm_stats_descriptors(const KvmStatsHeader& header,
                                                 std::span<const uint8_t> block,
                                                 std::vector<KvmStatsDescFixed>& fixed) {
  const uint64_t stride = descriptor_size(header);
  if (block.size() < stride * header.num_desc) throw Error("KVM stats descriptors are truncated");
  std::vector<KvmStat> stats;
  stats.reserve(header.num_desc);
  fixed.clear();
  fixed.reserve(header.num_desc);
  for (uint32_t i = 0; i < header.num_desc; ++i) {
    const uint8_t* at = block.data() + i * stride;
    KvmStatsDescFixed desc;
    std::memcpy(&desc, at, sizeof desc);
    const char* name = reinterpret_cast<const char*>(at + sizeof desc);
    // name[] is NUL-padded to name_size; a name that fills it is cut there.
    KvmStat stat;
    stat.name.assign(name, ::strnlen(name, header.name_size));
    stat.flags = desc.flags;
    stats.push_back(std::move(stat));
    fixed.push_back(desc);
  }
  return stats;
}

uint64_t kvm_stats_data_size(std::span<const KvmStatsDescFixed> fixed) {
  uint64_t size = 0;
  for (const KvmStatsDescFixed& desc : fixed) {
    // u32 offset + u16 size * 8 cannot overflow a u64.
    size = std::max(size, uint64_t{desc.offset} + uint64_t{desc.size} * sizeof(uint64_t));
  }
  return size;
}

void fill_kvm_stats_values(std::span<const KvmStatsDescFixed> fixed, std::span<const uint8_t> data,
                           std::vector<KvmStat>& stats) {
  for (size_t i = 0; i < fixed.size() && i < stats.size(); ++i) {
    const uint64_t bytes = uint64_t{fixed[i].size} * sizeof(uint64_t);
    if (!fits(fixed[i].offset, bytes, data.size())) {
      throw Error("KVM stat " + stats[i].name + " lies outside the data block");
    }
    stats[i].values.resize(fixed[i].size);
    std::memcpy(stats[i].values.data(), data.data() + fixed[i].offset, bytes);
  }
}

std::vector<KvmStat> parse_kvm_stats(std::span<const uint8_t> file) {
  const KvmStatsHeader header = parse_kvm_stats_header(file);
  const uint64_t desc_bytes = descriptor_size(header) * header.num_desc;
  if (!fits(header.desc_offset, desc_bytes, file.size())) {
    throw Error("KVM stats descriptors lie outside the buffer");
  }
  std::vector<KvmStatsDescFixed> fixed;
  std::vector<KvmStat> stats =
      parse_kvm_stats_descriptors(header, file.subspan(header.desc_offset, desc_bytes), fixed);
  const uint64_t data_bytes = kvm_stats_data_size(fixed);
  if (!fits(header.data_offset, data_bytes, file.size())) {
    throw Error("KVM stats data block lies outside the buffer");
  }
  fill_kvm_stats_values(fixed, file.subspan(header.data_offset, data_bytes), stats);
  return stats;
}

std::vector<KvmStat> read_kvm_stats(int stats_fd) {
  uint8_t header_bytes[sizeof(KvmStatsHeader)];
  pread_exact(stats_fd, header_bytes, 0, "header");
  const KvmStatsHeader header = parse_kvm_stats_header(header_bytes);
  std::vector<uint8_t> block(descriptor_size(header) * header.num_desc);
  pread_exact(stats_fd, block, header.desc_offset, "descriptors");
  std::vector<KvmStatsDescFixed> fixed;
  std::vector<KvmStat> stats = parse_kvm_stats_descriptors(header, block, fixed);
  // The descriptors are fixed for the fd's life; the data block is what
  // changes, so it is read last, in one pread, as one consistent-ish snapshot.
  std::vector<uint8_t> data(kvm_stats_data_size(fixed));
  pread_exact(stats_fd, data, header.data_offset, "data block");
  fill_kvm_stats_values(fixed, data, stats);
  return stats;
}

}  // namespace kvmm

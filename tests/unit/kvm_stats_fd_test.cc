#include "vmm/kvm/kvm_stats_fd.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "base/util/error.h"

using namespace kvmm;

namespace {

struct FakeStat {
  std::string name;
  std::vector<uint64_t> values;
};

// Lays out a stats fd as the kernel does (virt/kvm/binary_stats.c): header,
// id string, descriptors of sizeof(fixed) + name_size bytes each, then the
// data block, values at each descriptor's offset into it.
std::vector<uint8_t> fake_stats_file(const std::vector<FakeStat>& stats, uint32_t name_size = 48) {
  const uint32_t id_size = name_size;
  const uint32_t desc_size = sizeof(KvmStatsDescFixed) + name_size;
  KvmStatsHeader header{};
  header.name_size = name_size;
  header.num_desc = static_cast<uint32_t>(stats.size());
  header.id_offset = sizeof header;
  header.desc_offset = header.id_offset + id_size;
  header.data_offset = header.desc_offset + desc_size * header.num_desc;
  size_t data_words = 0;
  for (const FakeStat& s : stats) data_words += s.values.size();
  std::vector<uint8_t> file(header.data_offset + data_words * 8 + 16, 0);
  std::memcpy(file.data(), &header, sizeof header);
  std::memcpy(file.data() + header.id_offset, "kvm-1234/vcpu0", 14);
  uint32_t offset = 8;  // Leave a gap: offsets, not order, place the values.
  for (size_t i = 0; i < stats.size(); ++i) {
    KvmStatsDescFixed desc{};
    desc.size = static_cast<uint16_t>(stats[i].values.size());
    desc.offset = offset;
    uint8_t* at = file.data() + header.desc_offset + i * desc_size;
    std::memcpy(at, &desc, sizeof desc);
    std::memcpy(at + sizeof desc, stats[i].name.data(), stats[i].name.size());
    std::memcpy(file.data() + header.data_offset + offset, stats[i].values.data(),
                stats[i].values.size() * 8);
    offset += static_cast<uint32_t>(stats[i].values.size() * 8);
  }
  return file;
}

}  // namespace

TEST_CASE("KVM stats parser reads names and values laid out like the kernel's") {
  const auto file = fake_stats_file({{"exits", {27}}, {"halt_wait_hist", {1, 2, 3}},
                                     {"signal_exits", {4}}});
  const std::vector<KvmStat> stats = parse_kvm_stats(file);
  REQUIRE(stats.size() == 3);
  CHECK(stats[0].name == "exits");
  CHECK(stats[0].values == std::vector<uint64_t>{27});
  CHECK(stats[1].name == "halt_wait_hist");
  CHECK(stats[1].values == std::vector<uint64_t>{1, 2, 3});
  CHECK(stats[2].name == "signal_exits");
  CHECK(stats[2].values == std::vector<uint64_t>{4});
}

TEST_CASE("KVM stats descriptor size follows the header name size") {
  const auto file = fake_stats_file({{"a", {1}}, {"b", {2}}}, 8);
  const std::vector<KvmStat> stats = parse_kvm_stats(file);
  REQUIRE(stats.size() == 2);
  CHECK(stats[1].name == "b");
  CHECK(stats[1].values == std::vector<uint64_t>{2});
}

TEST_CASE("KVM stats name that fills name_size is cut there") {
  const auto file = fake_stats_file({{"abcdefgh", {5}}}, 8);
  CHECK(parse_kvm_stats(file)[0].name == "abcdefgh");
}

TEST_CASE("KVM stats parser rejects truncated or out of range input") {
  auto file = fake_stats_file({{"exits", {1}}});
  CHECK_THROWS_AS(parse_kvm_stats(std::span(file).first(10)), Error);
  // Cut inside the descriptors.
  CHECK_THROWS_AS(parse_kvm_stats(std::span(file).first(sizeof(KvmStatsHeader) + 60)), Error);
  // A value offset beyond the data block.
  auto bad_offset = file;
  KvmStatsHeader header;
  std::memcpy(&header, bad_offset.data(), sizeof header);
  KvmStatsDescFixed desc;
  std::memcpy(&desc, bad_offset.data() + header.desc_offset, sizeof desc);
  desc.offset = 0xfffffff0;
  std::memcpy(bad_offset.data() + header.desc_offset, &desc, sizeof desc);
  CHECK_THROWS_AS(parse_kvm_stats(bad_offset), Error);
  // Absurd header sizes are refused before any allocation.
  auto bad_header = file;
  header.name_size = 0;
  std::memcpy(bad_header.data(), &header, sizeof header);
  CHECK_THROWS_AS(parse_kvm_stats(bad_header), Error);
  header.name_size = 48;
  header.num_desc = 1u << 30;
  std::memcpy(bad_header.data(), &header, sizeof header);
  CHECK_THROWS_AS(parse_kvm_stats(bad_header), Error);
  header.num_desc = 1;
  header.desc_offset = 0xffffffff;
  std::memcpy(bad_header.data(), &header, sizeof header);
  CHECK_THROWS_AS(parse_kvm_stats(bad_header), Error);
}

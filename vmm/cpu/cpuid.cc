#include "vmm/cpu/cpuid.h"

#include <cpuid.h>
#include <linux/kvm.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "vmm/kvm/kvm_abi.h"

namespace kvmm {

namespace {

// Leaf numbers and bits (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, appendix E).
constexpr uint32_t kLeafFeatures = 0x1;
constexpr uint32_t kLeafCacheParameters = 0x4;  // Intel only
constexpr uint32_t kLeafTopology = 0xb;
constexpr uint32_t kLeafTopologyV2 = 0x1f;
constexpr uint32_t kLeafExtendedMax = 0x80000000;
constexpr uint32_t kLeafBrandFirst = 0x80000002;  // Then 0x80000003, 0x80000004.
constexpr uint32_t kLeafBrandLast = 0x80000004;
constexpr uint32_t kLeafAmdAddressSizes = 0x80000008;
constexpr uint32_t kEcxHypervisor = 1U << 31;
constexpr uint32_t kEdxHtt = 1U << 28;
constexpr uint32_t kEcxTscDeadline = 1U << 24;
// Leaf 0xB/0x1F ECX[15:8] level types.
constexpr uint32_t kLevelSmt = 1;
constexpr uint32_t kLevelCore = 2;

// Bits needed to number `count` things (x2APIC ID shift widths).
uint32_t id_bits(uint32_t count) { return count <= 1 ? 0 : std::bit_width(count - 1); }

void set_topology_level(kvm_cpuid_entry2& e, uint32_t vcpu, uint32_t cpus) {
  // One thread per core, `cpus` cores per package: subleaf 0 is SMT, 1 is core.
  e.edx = vcpu;  // x2APIC ID, in every subleaf.
  switch (e.index) {
    case 0:
      e.eax = 0;
      e.ebx = 1;
      e.ecx = (kLevelSmt << 8) | e.index;
      break;
    case 1:
      e.eax = id_bits(cpus);
      e.ebx = cpus;
      e.ecx = (kLevelCore << 8) | e.index;
      break;
    default:  // No further levels: "invalid" type ends the enumeration.
      e.eax = 0;
      e.ebx = 0;
      e.ecx = e.index;
      break;
  }
}

// The entries of a kvm_cpuid2 buffer, read and written whole (the buffer's
// bytes need not be aligned for kvm_cpuid_entry2).
std::vector<kvm_cpuid_entry2> entries_of(std::span<const uint8_t> buffer) {
  KvmCpuid2Header header;
  std::memcpy(&header, buffer.data(), sizeof header);
  std::vector<kvm_cpuid_entry2> entries(header.nent);
  std::memcpy(entries.data(), buffer.data() + sizeof header, entries.size() * sizeof(entries[0]));
  return entries;
}

std::vector<uint8_t> buffer_of(const std::vector<kvm_cpuid_entry2>& entries) {
  const KvmCpuid2Header header{static_cast<uint32_t>(entries.size()), 0};
  std::vector<uint8_t> buffer(sizeof header + entries.size() * sizeof(entries[0]));
  std::memcpy(buffer.data(), &header, sizeof header);
  std::memcpy(buffer.data() + sizeof header, entries.data(), entries.size() * sizeof(entries[0]));
  return buffer;
}

kvm_cpuid_entry2& leaf_in(std::vector<kvm_cpuid_entry2>& entries, uint32_t function) {
  const auto found = std::find_if(entries.begin(), entries.end(), [function](const auto& e) {
    return e.function == function && e.index == 0;
  });
  if (found != entries.end()) return *found;
  kvm_cpuid_entry2 added{};
  added.function = function;
  return entries.emplace_back(added);
}

// KVM passes the host's leaves through on most hosts, but some (nested or
// paravirtual KVMs) report them empty or not at all; the brand is only a
// name, so the host's own is what the guest should see.
// The string is one across the three leaves: KVM's is kept whole when any
// of them has a byte of it.
void fill_brand(std::vector<kvm_cpuid_entry2>& entries, const CpuBrand& brand) {
  if (std::all_of(brand.begin(), brand.end(), [](uint32_t word) { return word == 0; })) return;
  const bool reported = std::any_of(entries.begin(), entries.end(), [](const auto& e) {
    return e.function >= kLeafBrandFirst && e.function <= kLeafBrandLast &&
           (e.eax != 0 || e.ebx != 0 || e.ecx != 0 || e.edx != 0);
  });
  if (reported) return;
  kvm_cpuid_entry2& max = leaf_in(entries, kLeafExtendedMax);
  if (max.eax < kLeafBrandLast) max.eax = kLeafBrandLast;
  for (uint32_t function = kLeafBrandFirst; function <= kLeafBrandLast; ++function) {
    kvm_cpuid_entry2& e = leaf_in(entries, function);
    const size_t at = 4 * (function - kLeafBrandFirst);
    e.eax = brand[at];
    e.ebx = brand[at + 1];
    e.ecx = brand[at + 2];
    e.edx = brand[at + 3];
  }
}

}  // namespace

CpuBrand host_cpu_brand() {
  CpuBrand brand{};
  unsigned max = 0, unused = 0;
  __cpuid(kLeafExtendedMax, max, unused, unused, unused);
  if (max < kLeafBrandLast) return brand;
  for (uint32_t function = kLeafBrandFirst; function <= kLeafBrandLast; ++function) {
    const size_t at = 4 * (function - kLeafBrandFirst);
    __cpuid(function, brand[at], brand[at + 1], brand[at + 2], brand[at + 3]);
  }
  return brand;
}

std::vector<uint8_t> cpuid_for_vcpu(std::span<const uint8_t> supported, uint32_t vcpu,
                                    uint32_t cpus, const CpuBrand& brand) {
  std::vector<kvm_cpuid_entry2> entries = entries_of(supported);
  fill_brand(entries, brand);
  for (kvm_cpuid_entry2& e : entries) {
    switch (e.function) {
      case kLeafFeatures:
        // EBX[31:24] initial APIC ID, EBX[23:16] logical processors per package.
        e.ebx = (e.ebx & 0x0000ffff) | (vcpu << 24) | ((cpus & 0xff) << 16);
        e.ecx |= kEcxHypervisor;  // Lets the guest find KVM's paravirtual leaves.
        if (cpus > 1) e.edx |= kEdxHtt;
        break;
      case kLeafCacheParameters:
        // EAX[31:26] cores per package - 1; caches stay private per core.
        if ((e.eax & 0x1f) != 0) e.eax = (e.eax & 0x03ffffff) | ((cpus - 1) << 26);
        break;
      case kLeafTopology:
      case kLeafTopologyV2:
        set_topology_level(e, vcpu, cpus);
        break;
      case kLeafAmdAddressSizes:
        // ECX[7:0] cores - 1, ECX[15:12] APIC ID bits for the core number.
        e.ecx = (e.ecx & ~0xf0ffU) | (id_bits(cpus) << 12) | ((cpus - 1) & 0xff);
        break;
      default:
        break;
    }
  }
  return buffer_of(entries);
}

void add_tsc_deadline(std::vector<uint8_t>& cpuid) {
  std::vector<kvm_cpuid_entry2> entries = entries_of(cpuid);
  for (kvm_cpuid_entry2& e : entries) {
    if (e.function == kLeafFeatures) e.ecx |= kEcxTscDeadline;
  }
  cpuid = buffer_of(entries);
}

}  // namespace kvmm

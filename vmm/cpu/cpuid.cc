#include "vmm/cpu/cpuid.h"

#include <linux/kvm.h>

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

}  // namespace

std::vector<uint8_t> cpuid_for_vcpu(std::span<const uint8_t> supported, uint32_t vcpu,
                                    uint32_t cpus) {
  std::vector<uint8_t> out(supported.begin(), supported.end());
  KvmCpuid2Header header;
  std::memcpy(&header, out.data(), sizeof header);
  auto* entries = reinterpret_cast<kvm_cpuid_entry2*>(out.data() + sizeof header);
  for (uint32_t i = 0; i < header.nent; ++i) {
    kvm_cpuid_entry2& e = entries[i];
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
  return out;
}

void add_tsc_deadline(std::vector<uint8_t>& cpuid) {
  KvmCpuid2Header header{};
  std::memcpy(&header, cpuid.data(), sizeof header);
  for (uint32_t i = 0; i < header.nent; ++i) {
    kvm_cpuid_entry2 entry{};
    uint8_t* at = cpuid.data() + sizeof header + i * sizeof entry;
    std::memcpy(&entry, at, sizeof entry);
    if (entry.function != kLeafFeatures) continue;
    entry.ecx |= kEcxTscDeadline;
    std::memcpy(at, &entry, sizeof entry);
  }
}

}  // namespace kvmm

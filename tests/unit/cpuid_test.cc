#include "vmm/cpu/cpuid.h"

#include <catch2/catch.hpp>

#include <linux/kvm.h>

#include <cstring>
#include <vector>

#include "vmm/kvm/kvm_abi.h"

using namespace kvmm;

namespace {

std::vector<uint8_t> make_cpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  std::vector<uint8_t> buffer(sizeof(KvmCpuid2Header) + entries.size() * sizeof(kvm_cpuid_entry2));
  KvmCpuid2Header header{static_cast<uint32_t>(entries.size()), 0};
  std::memcpy(buffer.data(), &header, sizeof header);
  std::memcpy(buffer.data() + sizeof header, entries.data(), entries.size() * sizeof(entries[0]));
  return buffer;
}

kvm_cpuid_entry2 leaf(uint32_t function, uint32_t index = 0) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.index = index;
  e.ebx = 0x00ff0800;  // Junk APIC ID and count bits the transform must replace.
  return e;
}

kvm_cpuid_entry2 entry(const std::vector<uint8_t>& buffer, size_t i) {
  kvm_cpuid_entry2 e;
  std::memcpy(&e, buffer.data() + sizeof(KvmCpuid2Header) + i * sizeof e, sizeof e);
  return e;
}

}  // namespace

TEST_CASE("CPUID gives each vCPU its APIC ID and the VM's core count") {
  const auto supported = make_cpuid({leaf(1), leaf(0xb, 0), leaf(0xb, 1), leaf(0xb, 2),
                                     leaf(0x80000008), leaf(0x40000000)});
  const auto out = cpuid_for_vcpu(supported, 3, 4);
  REQUIRE(out.size() == supported.size());

  const auto features = entry(out, 0);
  CHECK(features.ebx >> 24 == 3);
  CHECK(((features.ebx >> 16) & 0xff) == 4);
  CHECK((features.ebx & 0xffff) == 0x0800);  // Other EBX fields kept.
  CHECK((features.ecx & (1U << 31)) != 0);   // Hypervisor present.

  const auto smt = entry(out, 1);
  CHECK(smt.edx == 3);
  CHECK(smt.ebx == 1);
  CHECK(((smt.ecx >> 8) & 0xff) == 1);
  const auto core = entry(out, 2);
  CHECK(core.eax == 2);  // Two bits number four cores.
  CHECK(core.ebx == 4);
  CHECK(((core.ecx >> 8) & 0xff) == 2);
  const auto end = entry(out, 3);
  CHECK(end.ebx == 0);
  CHECK(((end.ecx >> 8) & 0xff) == 0);

  CHECK((entry(out, 4).ecx & 0xff) == 3);
  CHECK(entry(out, 5).ebx == 0x00ff0800);  // Other leaves untouched.
}

TEST_CASE("CPUID for a single vCPU has no topology bits") {
  const auto out = cpuid_for_vcpu(make_cpuid({leaf(1), leaf(0xb, 1)}), 0, 1);
  CHECK(entry(out, 0).ebx >> 24 == 0);
  CHECK((entry(out, 0).edx & (1U << 28)) == 0);
  CHECK(entry(out, 1).eax == 0);
}

TEST_CASE("the TSC-deadline bit is set in leaf 1 ECX and nowhere else") {
  kvm_cpuid_entry2 features = leaf(1);
  features.ecx = 0x80000001;
  auto cpuid = make_cpuid({features, leaf(7), leaf(0x80000001)});
  const auto before = cpuid;
  add_tsc_deadline(cpuid);
  CHECK(entry(cpuid, 0).ecx == (0x80000001 | (1U << 24)));
  CHECK(entry(cpuid, 0).ebx == entry(before, 0).ebx);
  CHECK(entry(cpuid, 1).ecx == entry(before, 1).ecx);
  CHECK(entry(cpuid, 2).ecx == entry(before, 2).ecx);
}

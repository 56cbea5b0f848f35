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

size_t entry_count(const std::vector<uint8_t>& buffer) {
  return (buffer.size() - sizeof(KvmCpuid2Header)) / sizeof(kvm_cpuid_entry2);
}

kvm_cpuid_entry2 zero_leaf(uint32_t function, uint32_t eax = 0) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.eax = eax;
  return e;
}

// `text` as leaves 0x80000002-0x80000004 return it: 48 bytes, NUL-padded.
CpuBrand brand_of(const std::string& text) {
  CpuBrand brand{};
  std::string bytes = text;
  bytes.resize(sizeof brand, '\0');
  std::memcpy(brand.data(), bytes.data(), sizeof brand);
  return brand;
}

// What Linux's get_model_name() reads: the three leaves' registers in
// order, up to the first NUL.
std::string guest_brand(const std::vector<uint8_t>& buffer) {
  std::string text;
  for (uint32_t function = 0x80000002; function <= 0x80000004; ++function) {
    for (size_t i = 0; i < entry_count(buffer); ++i) {
      const kvm_cpuid_entry2 e = entry(buffer, i);
      if (e.function != function) continue;
      for (const uint32_t word : {e.eax, e.ebx, e.ecx, e.edx}) {
        text.append(reinterpret_cast<const char*>(&word), 4);
      }
    }
  }
  return text.substr(0, text.find('\0'));
}

uint32_t max_extended_leaf(const std::vector<uint8_t>& buffer) {
  for (size_t i = 0; i < entry_count(buffer); ++i) {
    if (entry(buffer, i).function == 0x80000000) return entry(buffer, i).eax;
  }
  return 0;
}

}  // namespace

TEST_CASE("CPUID gives each vCPU its APIC ID and the VM's core count") {
  const auto supported = make_cpuid({leaf(1), leaf(0xb, 0), leaf(0xb, 1), leaf(0xb, 2),
                                     leaf(0x80000008), leaf(0x40000000)});
  const auto out = cpuid_for_vcpu(supported, 3, 4, CpuBrand{});
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
  const auto out = cpuid_for_vcpu(make_cpuid({leaf(1), leaf(0xb, 1)}), 0, 1, CpuBrand{});
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

TEST_CASE("CPUID brand leaves KVM left zero get the host's brand string") {
  const CpuBrand host = brand_of("AMD EPYC 7B13 64-Core Processor");
  const auto supported =
      make_cpuid({leaf(1), zero_leaf(0x80000000, 0x80000008), zero_leaf(0x80000002),
                  zero_leaf(0x80000003), zero_leaf(0x80000004), zero_leaf(0x80000008)});
  const auto out = cpuid_for_vcpu(supported, 0, 1, host);
  CHECK(entry_count(out) == 6);  // Filled in place.
  CHECK(guest_brand(out) == "AMD EPYC 7B13 64-Core Processor");
  CHECK(max_extended_leaf(out) == 0x80000008);  // Already covers them: kept.
}

TEST_CASE("CPUID brand leaves KVM did not report are added, and the extended range with them") {
  const auto supported = make_cpuid({leaf(1), zero_leaf(0x80000000, 0x80000001), zero_leaf(0x80000001)});
  const auto out = cpuid_for_vcpu(supported, 0, 2, brand_of("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"));
  CHECK(entry_count(out) == 6);
  CHECK(guest_brand(out) == "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz");
  CHECK(max_extended_leaf(out) == 0x80000004);
  CHECK(entry(out, 0).ebx >> 24 == 0);  // The other transforms still ran.
  CHECK(((entry(out, 0).ebx >> 16) & 0xff) == 2);
}

TEST_CASE("CPUID keeps the brand KVM reports and adds none when the host has none") {
  kvm_cpuid_entry2 named = zero_leaf(0x80000002);
  std::memcpy(&named.eax, "KVM!", 4);
  const auto supported = make_cpuid({zero_leaf(0x80000000, 0x80000004), named,
                                     zero_leaf(0x80000003), zero_leaf(0x80000004)});
  const auto kept = cpuid_for_vcpu(supported, 0, 1, brand_of("Host CPU brand string, 3 leaves"));
  CHECK(guest_brand(kept) == "KVM!");
  CHECK(entry(kept, 2).eax == 0);  // Not the host's bytes 16-19: one string, not a mix.
  // A host without a brand string: nothing to pass through, nothing added.
  const auto bare = make_cpuid({leaf(1)});
  CHECK(cpuid_for_vcpu(bare, 0, 1, CpuBrand{}).size() == bare.size());
}

TEST_CASE("the host's brand string is read from its cpuid instruction") {
  // Every x86-64 CPU kvmm runs on has one (Intel since the Pentium 4, AMD
  // since the K5), unless a hypervisor hides it.
  const CpuBrand brand = host_cpu_brand();
  std::string text(reinterpret_cast<const char*>(brand.data()), sizeof brand);
  text = text.substr(0, text.find('\0'));
  INFO("host brand: " << text);
  for (const char c : text) CHECK((c >= 0x20 && c < 0x7f));
}

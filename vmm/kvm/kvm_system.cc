#include "vmm/kvm/kvm_system.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "base/util/error.h"
#include "vmm/kvm/kvm_abi.h"

namespace kvmm {

std::string kvm_backend_module() {
  for (const char* name : {"kvm_intel", "kvm_amd", "kvm_pvm"}) {
    if (std::filesystem::exists(std::string("/sys/module/") + name)) return name;
  }
  return "";
}

const std::vector<Capability>& required_capabilities() {
  static const std::vector<Capability> caps = {
      {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM from host mappings"},
      {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "real-mode emulation on Intel"},
      {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "setting the guest's CPUID"},
      {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs without races"},
      {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "the in-kernel PIC, IOAPIC and local APICs"},
      {KVM_CAP_PIT2, "KVM_CAP_PIT2", "the in-kernel PIT timer"},
      {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", "queue notifications without an exit to kvmm"},
      {KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "interrupts from the I/O thread"},
  };
  return caps;
}

std::string KvmSystem::device_path() {
  const char* env = std::getenv("KVMM_KVM_DEVICE");
  return env != nullptr && *env != '\0' ? env : "/dev/kvm";
}

KvmSystem KvmSystem::open() {
  const std::string path = device_path();
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENXIO || err == ENODEV) {
      throw Error(path + " does not exist: enable virtualization (VT-x/AMD-V) in the firmware "
                  "and load the module (modprobe kvm-intel or kvm-amd), or run kvmm through "
                  "tools/with-kvm on a machine without KVM");
    }
    if (err == EACCES || err == EPERM) {
      throw Error("no permission to open " + path + ": add your user to group kvm "
                  "(sudo usermod -aG kvm $USER, then log in again) or run as root");
    }
    throw_errno("cannot open " + path, err);
  }
  KvmSystem kvm{UniqueFd(fd)};
  const int version = kvm.api_version();
  if (version != kApiVersion) {
    throw Error(path + " speaks KVM API version " + std::to_string(version) + ", kvmm needs " +
                std::to_string(kApiVersion) + ": use a mainline Linux kernel");
  }
  return kvm;
}

int KvmSystem::api_version() const {
  int v = ::ioctl(fd(), KVM_GET_API_VERSION, 0);
  if (v < 0) throw_errno("KVM_GET_API_VERSION failed");
  return v;
}

int KvmSystem::check_extension(int capability) const {
  int v = ::ioctl(fd(), KVM_CHECK_EXTENSION, capability);
  return v < 0 ? 0 : v;
}

void KvmSystem::require_capabilities() const {
  for (const Capability& cap : required_capabilities()) {
    if (check_extension(cap.id) <= 0) {
      throw Error("this kernel's KVM lacks " + std::string(cap.name) + " (needed for " + cap.why +
                  "): use a newer host kernel");
    }
  }
}

size_t KvmSystem::vcpu_mmap_size() const {
  int size = ::ioctl(fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size <= 0) throw_errno("KVM_GET_VCPU_MMAP_SIZE failed");
  return static_cast<size_t>(size);
}

int KvmSystem::max_vcpus() const {
  // KVM_CAP_MAX_VCPUS may be absent on old kernels; NR_VCPUS is then the limit,
  // and 4 is what the API documentation promises when both are absent.
  if (int max = check_extension(KVM_CAP_MAX_VCPUS); max > 0) return max;
  if (int nr = check_extension(KVM_CAP_NR_VCPUS); nr > 0) return nr;
  return 4;
}

std::vector<uint8_t> KvmSystem::supported_cpuid() const {
  // The kernel says E2BIG until the buffer is big enough; grow until it fits.
  for (uint32_t entries = 64; entries <= 4096; entries *= 2) {
    std::vector<uint8_t> buffer(sizeof(KvmCpuid2Header) + entries * sizeof(kvm_cpuid_entry2));
    auto* cpuid = reinterpret_cast<KvmCpuid2Header*>(buffer.data());
    cpuid->nent = entries;
    if (::ioctl(fd(), kKvmGetSupportedCpuid, cpuid) == 0) {
      buffer.resize(sizeof(KvmCpuid2Header) + cpuid->nent * sizeof(kvm_cpuid_entry2));
      return buffer;
    }
    if (errno != E2BIG) throw_errno("KVM_GET_SUPPORTED_CPUID failed");
  }
  throw Error("KVM_GET_SUPPORTED_CPUID returned more than 4096 entries");
}

KvmVm KvmSystem::create_vm() const {
  int vm;
  // EINTR is possible while the kernel sets up the VM; retry like other VMMs.
  do {
    vm = ::ioctl(fd(), KVM_CREATE_VM, 0);
  } while (vm < 0 && errno == EINTR);
  if (vm < 0) throw_errno("KVM_CREATE_VM failed (is another hypervisor holding VT-x/AMD-V?)");
  return KvmVm(UniqueFd(vm), vcpu_mmap_size());
}

}  // namespace kvmm

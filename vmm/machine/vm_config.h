#pragma once
// Everything `kvmm run` was asked to do, validated by the CLI.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "devices/virtio/block/disk_options.h"
#include "devices/virtio/net/net_options.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/linux/bzimage_unpack.h"
#include "vmm/cpu/cpu_mode.h"
#include "vmm/cpu/vcpu_sched.h"
#include "vmm/machine/platform_devices.h"
#include "vmm/security/jail.h"
#include "vmm/security/seccomp.h"

namespace kvmm {

// Serial console; on panic reboot at once (which kvmm reports) instead of
// hanging; no PCI bus to probe (kvmm has none; devices are virtio-mmio).
inline constexpr const char* kDefaultCmdline = "console=ttyS0 panic=-1";

// --stats, --stats=json, --stats-file=PATH: per-vCPU statistics at exit.
struct StatsOutput {
  enum class Format { kText, kJson };
  std::optional<Format> to_stderr;        // --stats[=text|json]
  std::optional<std::string> json_path;  // --stats-file=PATH (always JSON)
};

struct VmConfig {
  // The guest: a flat binary, or a Linux kernel. Exactly one is set.
  std::optional<std::filesystem::path> flat_image;
  CpuMode mode = CpuMode::kReal;  // Flat guests only.
  std::optional<std::filesystem::path> kernel;
  std::optional<std::filesystem::path> initrd;
  std::string cmdline = kDefaultCmdline;
  bool cmdline_given = false;  // --cmdline was given (a multiboot kernel gets only that).
  // --append: after `cmdline` (the default line or --cmdline's), for either
  // kind of kernel; a multiboot kernel gets --cmdline then this.
  std::string cmdline_append;

  uint64_t memory_bytes = 256 * kMiB;
  uint32_t cpus = 1;
  std::vector<int> pin;  // pin[i]: the host CPU vCPU i runs on.
  std::optional<VcpuSchedPolicy> vcpu_sched;  // Unset: the threads keep kvmm's own.
  std::optional<uint32_t> halt_poll_ns;       // Unset: the kernel's kvm.halt_poll_ns.
  std::vector<DiskOptions> disks;  // --disk, in order: /dev/vda, /dev/vdb, ...
  std::vector<NetOptions> nets;    // --net, in order: eth0, eth1, ...
  // --device: debug devices for a Linux guest (flat guests always get them).
  DebugDevices debug_devices;
  // --kernel-unpack: decompress a bzImage on the host and boot it through
  // PVH (vmm/boot/linux/bzimage_unpack.h). The CLI's default is cache; off
  // here so that machines built inside tests touch no cache directory.
  KernelUnpack kernel_unpack = KernelUnpack::kOff;
  bool boot_trace = false;
  // console_input feeds COM1 (a terminal in raw mode); benchmarks turn it off.
  bool console = true;
  // Where COM1's output goes and its input comes from: stdout and stdin, or
  // the fds of a --serial backend (app/cli/serial_backend.h). Borrowed: the
  // caller keeps them open until run() returns.
  int console_input = STDIN_FILENO;
  int console_output = STDOUT_FILENO;
  std::optional<std::string> exit_log_path;
  std::optional<StatsOutput> stats;  // Unset: no counting, no timing.
  // --seccomp; the CLI's default is on. Off here so that tests and tools
  // that build a machine in their own process are not confined.
  SeccompMode seccomp = SeccompMode::kOff;
  // An API thread (app/api) serves this VM; the main thread removes its
  // socket at exit.
  bool api = false;
  // --jail: chroot and unprivileged ids once everything is open, before
  // the guest runs (vmm/security/jail.h). Unset: kvmm keeps its root and ids.
  std::optional<JailOptions> jail;
};

}  // namespace kvmm

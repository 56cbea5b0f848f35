// libFuzzer target for the kernel loaders (vmm/boot/linux/,
// vmm/boot/multiboot/): the input is a kernel image file, which load_linux()
// sends to the bzImage loader (HdrS magic) or the PVH loader (ELF magic), or
// refuses; the same file then goes through load_multiboot().
//
// Input: byte 0 picks the RAM size (bits 0-1: 2, 4, 8 or 16 MiB),
// whether an 8 KiB initrd is given (bit 2) and whether a bzImage is also
// unpacked on the host (bit 3, vmm/boot/linux/bzimage_unpack.h); the rest is
// the kernel file, written to a memfd and opened by its /proc/self/fd path,
// as a user's file. The same bytes also go to decompress_payload() as a
// payload, so that every decoder sees them.
//
// Invariant: load_linux() either throws Error with a non-empty one-line
// message, or returns a load that lies in guest RAM: the entry point, the
// boot data (zero page or hvm_start_info), the kernel's whole extent
// [kernel_load, kernel_end) and the initrd. load_multiboot() likewise
// throws Error or returns an entry inside [load_start, load_end), an Info
// past load_end, and a module (the same 8 KiB file) past the Info, all in
// RAM. unpack_bzimage() and decompress_payload() never throw, never return
// more than their bound, and a kernel unpacked loads under load_linux()'s
// invariant. Any other exception, a crash or a sanitizer report is a bug.
//
// Build and run: tools/fuzz kernel_loader --seconds 60 (seeds in
// tests/fuzz/corpus/kernel_loader, written by tests/fuzz/make_seeds.py).
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/memory/guest_memory.h"
#include "base/util/error.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/linux/boot_params.h"
#include "vmm/boot/linux/bzimage_unpack.h"
#include "vmm/boot/linux/hvm_start_info.h"
#include "vmm/boot/linux/linux_boot.h"
#include "vmm/boot/linux/payload_decompress.h"
#include "vmm/boot/multiboot/multiboot.h"

namespace {

using namespace kvmm;

// A broken promise is a bug: stop with a crash libFuzzer records.
void expect(bool condition) {
  if (!condition) __builtin_trap();
}

constexpr std::array<uint64_t, 4> kRamSizes = {2 * kMiB, 4 * kMiB, 8 * kMiB, 16 * kMiB};
constexpr size_t kInitrdBytes = 8192;
// Small bounds keep each input fast; a bomb only has to pass them.
constexpr uint64_t kUnpackBound = 4 * kMiB;

int memfd(const char* name) {
  const int fd = ::memfd_create(name, MFD_CLOEXEC);
  expect(fd >= 0);
  return fd;
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// A broken promise crashes; a refusal must be an Error of one line.
template <typename Load>
void expect_load_or_error(Load load) {
  try {
    load();
  } catch (const Error& error) {
    const std::string_view message = error.what();
    expect(!message.empty() && message.find('\n') == std::string_view::npos);
  } catch (...) {
    expect(false);  // Neither a load nor an Error.
  }
}

// Whether [start, start + length) is RAM (length 0: the byte at start).
bool in_ram(const GuestMemory& memory, uint64_t start, uint64_t length) {
  return memory.slice(GuestAddress{start}, length == 0 ? 1 : length).has_value();
}

// load_linux()'s promise for `request`: a load that lies in guest RAM, or an Error.
void check_linux_load(const GuestMemory& memory, const LinuxBootRequest& request,
                      bool with_initrd) {
  expect_load_or_error([&] {
    const LinuxBootInfo info = load_linux(memory, request);
    expect(in_ram(memory, info.entry.value, 1));
    const uint64_t boot_data_size = info.protocol == LinuxBootInfo::Protocol::kPvh
                                        ? sizeof(linux_abi::HvmStartInfo)
                                        : sizeof(linux_abi::BootParams);
    expect(in_ram(memory, info.boot_data.value, boot_data_size));
    expect(info.kernel_load < info.kernel_end);
    expect(in_ram(memory, info.kernel_load, info.kernel_end - info.kernel_load));
    expect(info.entry.value >= info.kernel_load && info.entry.value < info.kernel_end);
    if (with_initrd) {
      expect(info.initrd_size == kInitrdBytes);
      expect(in_ram(memory, info.initrd_address, info.initrd_size));
      // The initrd does not overlap the kernel.
      expect(info.initrd_address >= info.kernel_end ||
             info.initrd_address + info.initrd_size <= info.kernel_load);
    } else {
      expect(info.initrd_size == 0);
    }
  });
}

// The host-side decoders and the unpacking never throw and keep their bound.
void check_unpack(const GuestMemory& memory, LinuxBootRequest& request, bool with_initrd,
                  std::span<const uint8_t> kernel) {
  try {
    const DecompressResult result = decompress_payload(kernel, kUnpackBound);
    if (result.status == DecompressResult::Status::kOk) {
      expect(!result.data.empty() && result.data.size() <= kUnpackBound);
    } else {
      expect(!result.reason.empty() && result.data.empty());
    }
    const ImageFile file = ImageFile::open(request.kernel, "kernel");
    UnpackOutcome outcome = unpack_bzimage(file, request.kernel, nullptr, kUnpackBound);
    expect(outcome.note.find('\n') == std::string::npos);
    if (!outcome.kernel) return;
    expect(outcome.kernel->elf.size() <= kUnpackBound);
    request.unpacked = std::move(outcome.kernel);
  } catch (...) {
    expect(false);
  }
  check_linux_load(memory, request, with_initrd);
  request.unpacked.reset();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // One guest memory per size, reused: a load writes only what it places.
  static std::array<std::unique_ptr<GuestMemory>, kRamSizes.size()> memories;
  static const int kernel_fd = memfd("kvmm-fuzz-kernel");
  static const int initrd_fd = [] {
    const int fd = memfd("kvmm-fuzz-initrd");
    expect(::ftruncate(fd, kInitrdBytes) == 0);
    return fd;
  }();

  const size_t ram_index = data[0] & 3;
  const bool with_initrd = (data[0] & 4) != 0;
  if (!memories[ram_index]) {
    memories[ram_index] = std::make_unique<GuestMemory>(make_guest_memory(kRamSizes[ram_index]));
  }
  const GuestMemory& memory = *memories[ram_index];

  expect(::ftruncate(kernel_fd, 0) == 0);
  expect(::pwrite(kernel_fd, data + 1, size - 1, 0) == static_cast<ssize_t>(size - 1));

  LinuxBootRequest request;
  request.kernel = fd_path(kernel_fd);
  if (with_initrd) request.initrd = fd_path(initrd_fd);
  request.cmdline = KernelCmdline("console=ttyS0 reboot=k panic=1");
  request.ram_bytes = kRamSizes[ram_index];
  check_linux_load(memory, request, with_initrd);
  if ((data[0] & 8) != 0) check_unpack(memory, request, with_initrd, {data + 1, size - 1});

  MultibootRequest multiboot;
  multiboot.kernel = request.kernel;
  multiboot.module = request.initrd;
  multiboot.cmdline = "arg";
  multiboot.ram_bytes = request.ram_bytes;
  expect_load_or_error([&] {
    const MultibootBootInfo info = load_multiboot(memory, multiboot);
    expect(info.load_start < info.load_end);
    expect(in_ram(memory, info.load_start, info.load_end - info.load_start));
    expect(info.entry.value >= info.load_start && info.entry.value < info.load_end);
    expect(info.info.value >= info.load_end);
    expect(in_ram(memory, info.info.value, sizeof(multiboot_abi::Info)));
    if (with_initrd) {
      expect(info.module_size == kInitrdBytes);
      expect(info.module_address > info.info.value);
      expect(in_ram(memory, info.module_address, info.module_size));
    } else {
      expect(info.module_size == 0);
    }
  });
  return 0;
}

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

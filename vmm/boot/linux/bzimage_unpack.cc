#include "vmm/boot/linux/bzimage_unpack.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "base/util/error.h"
#include "vmm/boot/linux/bzimage.h"
#include "vmm/boot/linux/payload_decompress.h"
#include "vmm/boot/linux/pvh.h"

namespace kvmm {

namespace {

constexpr const char* kFallback = "; the guest decompresses it";

UnpackOutcome not_unpacked(const std::string& why) {
  return {std::nullopt, "bzImage not unpacked: " + why + kFallback};
}

// The ELF checks the PVH loader makes; false when `elf` would not boot
// through it (no PVH note, not an ELF, a corrupt header).
bool is_pvh_vmlinux(const ImageFile& elf, const std::filesystem::path& path) {
  try {
    (void)parse_pvh_elf(elf, path);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// `bytes` in an anonymous memory file, for the loader to read like a file.
std::optional<ImageFile> memory_file(std::span<const uint8_t> bytes,
                                     const std::filesystem::path& path) {
  const int fd = ::memfd_create("kvmm-vmlinux", MFD_CLOEXEC);
  if (fd < 0) return std::nullopt;
  UniqueFd owned(fd);
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return ImageFile::adopt(std::move(owned), path, "kernel");
}

}  // namespace

std::string_view kernel_unpack_name(KernelUnpack mode) {
  switch (mode) {
    case KernelUnpack::kCache: return "cache";
    case KernelUnpack::kMemory: return "memory";
    case KernelUnpack::kOff: return "off";
  }
  return "cache";
}

UnpackOutcome unpack_bzimage(const ImageFile& file, const std::filesystem::path& path,
                             const KernelCache* cache, uint64_t max_output) {
  BzImage image;
  try {
    image = parse_bzimage(file, path);
  } catch (const Error&) {
    return {};  // load_linux() refuses it with the reason.
  }
  const std::filesystem::path elf_path = path.string() + " (unpacked)";
  const auto unpacked = [&](ImageFile elf, std::string how) {
    UnpackOutcome outcome;
    outcome.kernel = UnpackedKernel{std::move(elf), image.header.cmdline_size,
                                    uint64_t{image.header.initrd_addr_max} + 1, image.kernel_end};
    outcome.note = "kernel unpacked from bzImage (" + how + ")";
    return outcome;
  };
  // A cached entry of 0 bytes records a payload that is no PVH vmlinux.
  const auto cached = [&](std::optional<ImageFile> entry) -> std::optional<UnpackOutcome> {
    if (!entry) return std::nullopt;
    if (entry->size() == 0) return not_unpacked("it has no PVH entry note (cached)");
    if (is_pvh_vmlinux(*entry, elf_path)) return unpacked(std::move(*entry), "cache hit");
    cache->remove(*entry);  // Damaged: decompress again.
    return std::nullopt;
  };

  if (cache) {
    if (auto outcome = cached(cache->find(file.identity()))) return std::move(*outcome);
  }
  // Boot protocol 2.08: the compressed kernel, counted from the start of the
  // protected-mode code. File content: checked against what the file has.
  const uint64_t offset = image.header.payload_offset;
  const uint64_t length = image.header.payload_length;
  if (length == 0 || offset > image.payload_size || length > image.payload_size - offset) {
    return not_unpacked("its payload_offset and payload_length lie outside the file");
  }
  std::vector<uint8_t> bytes(file.size());
  try {
    file.read_exact(0, bytes);
  } catch (const Error& e) {
    return not_unpacked(e.what());
  }
  const uint64_t content_hash = fnv1a64(bytes);
  if (cache) {
    if (auto outcome = cached(cache->find(file.identity(), content_hash))) {
      return std::move(*outcome);
    }
  }

  // init_size covers the decompressed kernel: the kernel's own decompressor
  // writes it into that much memory (arch/x86/boot/header.S, INIT_SIZE).
  const uint64_t cap = std::min<uint64_t>(image.header.init_size, max_output);
  const auto payload = std::span<const uint8_t>(bytes).subspan(image.payload_offset + offset,
                                                               length);
  DecompressResult result = decompress_payload(payload, cap);
  bytes = {};  // The bzImage is no longer needed: free it before loading.
  if (result.status != DecompressResult::Status::kOk) {
    return not_unpacked("its " + std::string(payload_format_name(result.format)) +
                        " payload cannot be used: " + result.reason);
  }
  const std::string how = std::string(payload_format_name(result.format)) + ", " +
                          std::to_string(length) + " -> " + std::to_string(result.data.size()) +
                          " bytes";
  if (cache) {
    if (auto entry = cache->store(file.identity(), content_hash, result.data)) {
      if (is_pvh_vmlinux(*entry, elf_path)) return unpacked(std::move(*entry), how + ", cached");
      (void)cache->store(file.identity(), content_hash, {});
      return not_unpacked("its payload is no ELF vmlinux with a PVH entry note");
    }
  }
  std::optional<ImageFile> elf = memory_file(result.data, elf_path);
  if (!elf) return not_unpacked("no memory file for the unpacked kernel");
  if (!is_pvh_vmlinux(*elf, elf_path)) {
    return not_unpacked("its payload is no ELF vmlinux with a PVH entry note");
  }
  return unpacked(std::move(*elf), how);
}

}  // namespace kvmm

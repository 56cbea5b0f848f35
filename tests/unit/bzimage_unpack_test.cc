// The host-side unpacking of a bzImage: every payload format the decoders
// take, made at test time with the compressors of the same libraries, a
// real Debian bzImage when the default guest is built, the fallbacks, the
// output bound and the cache.
#include "vmm/boot/linux/bzimage_unpack.h"

#include <elf.h>
#include <lz4.h>
#include <lzma.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/test_files.h"
#include "vmm/boot/linux/boot_params.h"
#include "vmm/boot/linux/hvm_start_info.h"
#include "vmm/boot/linux/kernel_cache.h"
#include "vmm/boot/linux/linux_boot.h"
#include "vmm/boot/linux/payload_decompress.h"
#include "vmm/boot/linux/pvh.h"

using namespace kvmm;
using kvmm::testing::Bytes;
using kvmm::testing::TempFile;
using linux_abi::SetupHeader;

namespace {

template <typename T>
void put(Bytes& file, uint64_t offset, const T& value) {
  if (file.size() < offset + sizeof value) file.resize(offset + sizeof value);
  std::memcpy(file.data() + offset, &value, sizeof value);
}

// A vmlinux as the bzImage build leaves it: ELF header, one PT_LOAD at
// 16 MiB, a PT_NOTE with the Xen PHYS32_ENTRY note, the code, then bytes
// no header describes (the relocations of a relocatable kernel).
Bytes fake_vmlinux(bool with_pvh_note = true) {
  constexpr uint64_t kNoteOffset = 0x100;
  constexpr uint64_t kCodeOffset = 0x200;
  constexpr uint64_t kPaddr = 0x1000000;
  Bytes file;
  Elf64_Ehdr elf{};
  std::memcpy(elf.e_ident, ELFMAG, SELFMAG);
  elf.e_ident[EI_CLASS] = ELFCLASS64;
  elf.e_ident[EI_DATA] = ELFDATA2LSB;
  elf.e_ident[EI_VERSION] = EV_CURRENT;
  elf.e_type = ET_EXEC;
  elf.e_machine = EM_X86_64;
  elf.e_version = EV_CURRENT;
  elf.e_phoff = sizeof elf;
  elf.e_ehsize = sizeof elf;
  elf.e_phentsize = sizeof(Elf64_Phdr);
  elf.e_phnum = 2;
  put(file, 0, elf);
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_offset = kCodeOffset;
  load.p_paddr = kPaddr;
  load.p_filesz = 0x1000;
  load.p_memsz = 0x4000;
  put(file, sizeof elf, load);
  Elf64_Phdr note{};
  note.p_type = PT_NOTE;
  note.p_offset = kNoteOffset;
  note.p_filesz = sizeof(Elf64_Nhdr) + 4 + 4;
  note.p_align = 4;
  put(file, sizeof elf + sizeof load, note);
  file.resize(kCodeOffset + 0x1000);
  const Elf64_Nhdr header{4, 4, with_pvh_note ? linux_abi::kXenElfnotePhys32Entry : 1};
  put(file, kNoteOffset, header);
  std::memcpy(file.data() + kNoteOffset + sizeof header, "Xen", 4);
  put(file, kNoteOffset + sizeof header + 4, uint32_t{kPaddr + 0x10});
  for (size_t i = kCodeOffset; i < file.size(); ++i) file[i] = static_cast<uint8_t>(i * 31);
  const char relocs[] = "relocations past the ELF's end";
  file.insert(file.end(), relocs, relocs + sizeof relocs);
  return file;
}

// The build appends the decompressed size (scripts/Makefile.lib, size_append).
Bytes with_size(Bytes compressed, size_t size) {
  put(compressed, compressed.size(), static_cast<uint32_t>(size));
  return compressed;
}

Bytes xz(const Bytes& in) {
  Bytes out(lzma_stream_buffer_bound(in.size()));
  size_t pos = 0;
  REQUIRE(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(), out.data(),
                                  &pos, out.size()) == LZMA_OK);
  out.resize(pos);
  return with_size(out, in.size());
}

Bytes gzip(const Bytes& in) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&stream, static_cast<uLong>(in.size())) + 32);
  stream.next_in = const_cast<Bytef*>(in.data());
  stream.avail_in = static_cast<uInt>(in.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return with_size(out, in.size());
}

Bytes zstd(const Bytes& in) {
  Bytes out(ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 19);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return with_size(out, in.size());
}

// lz4 -l: the legacy magic, then one block with its 32-bit size.
Bytes lz4(const Bytes& in) {
  Bytes block(static_cast<size_t>(LZ4_compressBound(static_cast<int>(in.size()))));
  const int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data()),
                                     reinterpret_cast<char*>(block.data()),
                                     static_cast<int>(in.size()), static_cast<int>(block.size()));
  REQUIRE(n > 0);
  Bytes out = {0x02, 0x21, 0x4c, 0x18};
  put(out, out.size(), static_cast<uint32_t>(n));
  out.insert(out.end(), block.begin(), block.begin() + n);
  return with_size(out, in.size());
}

// A bzImage with one setup sector whose payload is `compressed` after a
// 0x40-byte stand-in for the decompressor's head.
Bytes fake_bzimage(const Bytes& compressed, uint32_t init_size = 0x400000) {
  constexpr uint32_t kHeadBytes = 0x40;
  Bytes file(2 * 512, 0);
  SetupHeader header{};
  header.setup_sects = 1;
  header.boot_flag = linux_abi::kBootFlag;
  header.jump = static_cast<uint16_t>(0xeb | (0x6a << 8));
  header.header = linux_abi::kHeaderMagic;
  header.version = 0x020f;
  header.loadflags = linux_abi::kLoadedHigh;
  header.xloadflags = linux_abi::kXlfKernel64;
  header.relocatable_kernel = 1;
  header.kernel_alignment = 0x200000;
  header.pref_address = 0x1000000;
  header.init_size = init_size;
  header.initrd_addr_max = 0x7fffffff;
  header.cmdline_size = 2047;
  header.payload_offset = kHeadBytes;
  header.payload_length = static_cast<uint32_t>(compressed.size());
  Bytes payload(kHeadBytes + compressed.size() + 0x300, 0xcc);  // Past the entry at 0x200.
  std::copy(compressed.begin(), compressed.end(), payload.begin() + kHeadBytes);
  header.syssize = static_cast<uint32_t>((payload.size() + 15) / 16);
  std::memcpy(file.data() + linux_abi::kSetupHeaderOffset, &header, sizeof header);
  file.insert(file.end(), payload.begin(), payload.end());
  return file;
}

Bytes read_all(const ImageFile& file) {
  Bytes bytes(file.size());
  file.read_exact(0, bytes);
  return bytes;
}

UnpackOutcome unpack(const TempFile& file, const KernelCache* cache = nullptr,
                     uint64_t max_output = kMaxUnpackedKernel) {
  const ImageFile image = ImageFile::open(file.path, "kernel");
  return unpack_bzimage(image, file.path, cache, max_output);
}

// A fresh directory under /tmp, removed with what it holds.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char name[] = "/tmp/kvmm-test-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("each payload format decompresses to the ELF it was made from") {
  const Bytes elf = fake_vmlinux();
  struct Case {
    const char* name;
    Bytes compressed;
    PayloadFormat format;
  };
  for (const Case& c : {Case{"xz", xz(elf), PayloadFormat::kXz},
                        Case{"gzip", gzip(elf), PayloadFormat::kGzip},
                        Case{"zstd", zstd(elf), PayloadFormat::kZstd},
                        Case{"lz4", lz4(elf), PayloadFormat::kLz4}}) {
    INFO(c.name);
    CHECK(detect_payload_format(c.compressed) == c.format);
    const DecompressResult result = decompress_payload(c.compressed, 1 << 20);
    CHECK(result.status == DecompressResult::Status::kOk);
    CHECK(result.data == elf);

    TempFile bzimage(fake_bzimage(c.compressed));
    const UnpackOutcome outcome = unpack(bzimage);
    INFO(outcome.note);
    REQUIRE(outcome.kernel);
    CHECK(read_all(outcome.kernel->elf) == elf);
    CHECK(outcome.note.find(std::string("kernel unpacked from bzImage (") + c.name) == 0);
    CHECK(outcome.kernel->cmdline_size == 2047);
    CHECK(outcome.kernel->initrd_end_limit == 0x80000000);
  }
}

TEST_CASE("the other compressions and unknown bytes are left to the guest") {
  CHECK(detect_payload_format(Bytes{0x5d, 0x00, 0x00, 0x80}) == PayloadFormat::kLzma);
  CHECK(detect_payload_format(Bytes{'B', 'Z', 'h', '9'}) == PayloadFormat::kBzip2);
  CHECK(detect_payload_format(Bytes{0x89, 'L', 'Z', 'O'}) == PayloadFormat::kLzo);
  CHECK(detect_payload_format(Bytes{1, 2, 3, 4}) == PayloadFormat::kUnknown);
  TempFile bzimage(fake_bzimage(Bytes{'B', 'Z', 'h', '9', 1, 2, 3, 4, 5, 6, 7, 8}));
  const UnpackOutcome outcome = unpack(bzimage);
  CHECK_FALSE(outcome.kernel);
  CHECK(outcome.note ==
        "bzImage not unpacked: its bzip2 payload cannot be used: kvmm does not decompress bzip2 "
        "on the host; the guest decompresses it");
}

TEST_CASE("a truncated or corrupt payload falls back to the bzImage") {
  const Bytes elf = fake_vmlinux();
  for (Bytes compressed : {xz(elf), gzip(elf), zstd(elf), lz4(elf)}) {
    INFO(static_cast<int>(detect_payload_format(compressed)));
    Bytes truncated(compressed.begin(), compressed.begin() + compressed.size() / 2);
    CHECK(decompress_payload(truncated, 1 << 20).status == DecompressResult::Status::kCorrupt);
    TempFile short_file(fake_bzimage(truncated));
    const UnpackOutcome outcome = unpack(short_file);
    CHECK_FALSE(outcome.kernel);
    CHECK(outcome.note.rfind("bzImage not unpacked: ", 0) == 0);

    Bytes corrupt = compressed;
    for (size_t i = 12; i < corrupt.size() - 4; i += 7) corrupt[i] ^= 0x5a;
    CHECK(decompress_payload(corrupt, 1 << 20).status != DecompressResult::Status::kOk);
    TempFile bad_file(fake_bzimage(corrupt));
    CHECK_FALSE(unpack(bad_file).kernel);
  }
}

TEST_CASE("a payload that is no PVH vmlinux falls back to the bzImage") {
  TempFile no_note(fake_bzimage(xz(fake_vmlinux(false))));
  UnpackOutcome outcome = unpack(no_note);
  CHECK_FALSE(outcome.kernel);
  CHECK(outcome.note ==
        "bzImage not unpacked: its payload is no ELF vmlinux with a PVH entry note; the guest "
        "decompresses it");
  TempFile not_elf(fake_bzimage(gzip(Bytes(4096, 'k'))));
  CHECK_FALSE(unpack(not_elf).kernel);
}

TEST_CASE("a payload that expands past the bound is refused") {
  const Bytes zeros(8u << 20, 0);  // 8 MiB of zeros: about 1 KiB of xz.
  const Bytes bomb = xz(zeros);
  REQUIRE(bomb.size() < (8u << 10));
  const DecompressResult result = decompress_payload(bomb, 1u << 20);
  CHECK(result.status == DecompressResult::Status::kTooLarge);
  CHECK(result.reason == "it decompresses to more than 1048576 bytes");
  CHECK(decompress_payload(gzip(zeros), 1u << 20).status == DecompressResult::Status::kTooLarge);
  CHECK(decompress_payload(zstd(zeros), 1u << 20).status == DecompressResult::Status::kTooLarge);

  // The header's init_size bounds it too.
  TempFile bzimage(fake_bzimage(bomb, 2u << 20));
  const UnpackOutcome outcome = unpack(bzimage);
  CHECK_FALSE(outcome.kernel);
  CHECK(outcome.note.find("it decompresses to more than 2097152 bytes") != std::string::npos);
  // Exactly at the bound is not past it.
  const Bytes elf = fake_vmlinux();
  CHECK(decompress_payload(xz(elf), elf.size()).status == DecompressResult::Status::kOk);
  CHECK(decompress_payload(xz(elf), elf.size() - 1).status == DecompressResult::Status::kTooLarge);
}

TEST_CASE("the unpacked kernel loads through PVH with the bzImage's limits") {
  TempFile bzimage(fake_bzimage(zstd(fake_vmlinux())));
  TempFile initrd(Bytes(8192, 0x42));
  LinuxBootRequest request;
  request.kernel = bzimage.path;
  request.initrd = initrd.path;
  request.cmdline = KernelCmdline("console=ttyS0 marker=1");
  request.ram_bytes = 64ull << 20;
  request.unpacked = unpack(bzimage).kernel;
  REQUIRE(request.unpacked);
  const GuestMemory memory = make_guest_memory(request.ram_bytes);
  const LinuxBootInfo info = load_linux(memory, request);
  CHECK(info.protocol == LinuxBootInfo::Protocol::kPvh);
  CHECK(info.entry.value == 0x1000010);
  CHECK(info.boot_data == kStartInfoAddress);
  // The initrd lies above where the bzImage's kernel would have ended.
  CHECK(info.kernel_end == 0x1000000 + 0x400000);
  CHECK(info.initrd_address >= info.kernel_end);
  CHECK(info.initrd_size == 8192);
}

TEST_CASE("Debian's bzImage unpacks to the vmlinux inside it") {
  const std::filesystem::path dir = KVMM_DEFAULT_GUEST_DIR;
  if (!std::filesystem::exists(dir / "vmlinuz") || !std::filesystem::exists(dir / "vmlinux")) {
    WARN("skipped: no default guest in " << dir.string() << " (tools/default-guest-build)");
    return;
  }
  const ImageFile image = ImageFile::open(dir / "vmlinuz", "kernel");
  const UnpackOutcome outcome = unpack_bzimage(image, dir / "vmlinuz", nullptr);
  INFO(outcome.note);
  REQUIRE(outcome.kernel);
  CHECK(outcome.note.rfind("kernel unpacked from bzImage (xz, ", 0) == 0);
  const ImageFile vmlinux = ImageFile::open(dir / "vmlinux", "kernel");
  CHECK(read_all(outcome.kernel->elf) == read_all(vmlinux));
  CHECK(parse_pvh_elf(outcome.kernel->elf, "unpacked").entry != 0);
}

TEST_CASE("the kernel cache returns what it stored and misses a changed bzImage") {
  TempDir dir;
  const auto cache = KernelCache::open(dir.path / "made" / "kvmm");
  REQUIRE(cache);
  struct stat st {};
  REQUIRE(::stat((dir.path / "made").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  const Bytes elf = fake_vmlinux();
  TempFile bzimage(fake_bzimage(gzip(elf)));
  UnpackOutcome first = unpack(bzimage, &*cache);
  REQUIRE(first.kernel);
  CHECK(first.note.find(", cached)") != std::string::npos);
  UnpackOutcome second = unpack(bzimage, &*cache);
  REQUIRE(second.kernel);
  CHECK(second.note == "kernel unpacked from bzImage (cache hit)");
  CHECK(read_all(second.kernel->elf) == elf);

  // Another kernel in the same file: neither the identity nor the content matches.
  Bytes other = elf;
  other[0x300] ^= 0xff;
  {
    std::ofstream(bzimage.path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(fake_bzimage(gzip(other)).data()),
               static_cast<std::streamsize>(fake_bzimage(gzip(other)).size()));
  }
  UnpackOutcome changed = unpack(bzimage, &*cache);
  REQUIRE(changed.kernel);
  CHECK(changed.note.find("cache hit") == std::string::npos);
  CHECK(read_all(changed.kernel->elf) == other);

  // The same content under another name is found by its content.
  TempFile copy(fake_bzimage(gzip(other)));
  CHECK(unpack(copy, &*cache).note == "kernel unpacked from bzImage (cache hit)");

  // A payload without the note is remembered as such.
  TempFile no_note(fake_bzimage(xz(fake_vmlinux(false))));
  CHECK_FALSE(unpack(no_note, &*cache).kernel);
  CHECK(unpack(no_note, &*cache).note ==
        "bzImage not unpacked: it has no PVH entry note (cached); the guest decompresses it");
}

TEST_CASE("the kernel cache keeps the most recently used entries") {
  TempDir dir;
  const auto cache = KernelCache::open(dir.path);
  REQUIRE(cache);
  std::vector<std::unique_ptr<TempFile>> files;
  for (int i = 0; i < 6; ++i) {
    Bytes elf = fake_vmlinux();
    elf[0x300] = static_cast<uint8_t>(i);
    files.push_back(std::make_unique<TempFile>(fake_bzimage(gzip(elf))));
    REQUIRE(unpack(*files.back(), &*cache).kernel);
  }
  size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
    CHECK(entry.path().extension() == ".vmlinux");
    ++entries;
  }
  CHECK(entries == KernelCache::kKeepEntries);
  CHECK(unpack(*files.back(), &*cache).note == "kernel unpacked from bzImage (cache hit)");
  CHECK(unpack(*files.front(), &*cache).note.find("cache hit") == std::string::npos);
}

TEST_CASE("a cache directory others may write is not used") {
  TempDir dir;
  REQUIRE(::chmod(dir.path.c_str(), 0777) == 0);
  CHECK_FALSE(KernelCache::open(dir.path));
  REQUIRE(::chmod(dir.path.c_str(), 0700) == 0);
  CHECK(KernelCache::open(dir.path));
  // A file where the directory should be: no cache, no error.
  TempFile file(Bytes{1});
  CHECK_FALSE(KernelCache::open(file.path));
  CHECK_FALSE(KernelCache::open(file.path / "kvmm"));
}

TEST_CASE("the cache directory follows XDG_CACHE_HOME, then HOME") {
  const char* saved_xdg = std::getenv("XDG_CACHE_HOME");
  const char* saved_home = std::getenv("HOME");
  const std::string xdg = saved_xdg ? saved_xdg : "";
  const std::string home = saved_home ? saved_home : "";
  ::setenv("XDG_CACHE_HOME", "/x/cache", 1);
  CHECK(KernelCache::default_dir() == std::filesystem::path("/x/cache/kvmm"));
  ::setenv("XDG_CACHE_HOME", "relative", 1);
  ::setenv("HOME", "/home/u", 1);
  CHECK(KernelCache::default_dir() == std::filesystem::path("/home/u/.cache/kvmm"));
  ::unsetenv("XDG_CACHE_HOME");
  ::unsetenv("HOME");
  CHECK_FALSE(KernelCache::default_dir());
  if (saved_xdg) ::setenv("XDG_CACHE_HOME", xdg.c_str(), 1);
  if (saved_home) ::setenv("HOME", home.c_str(), 1);
}

// Bad Linux guest input: one line naming the problem and the fix, exit 1,
// nothing on stdout — all before KVM is touched, so these run anywhere.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/refusal.h"

using namespace kvmm::testing;

namespace {

const std::string kDebianKernel = std::string(KVMM_DEFAULT_GUEST_DIR) + "/vmlinuz";

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/kvmm-linux-input-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path_ = name;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name, const std::string& contents) const {
    const std::string path = path_ + "/" + name;
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }
  // A copy of the first `size` bytes of `source` (all when size is 0), with
  // `patch` written at `offset`.
  std::string copy(const std::string& source, const std::string& name, size_t size = 0,
                   size_t offset = 0, const std::string& patch = "") const {
    std::ifstream in(source, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (size != 0) bytes.resize(size);
    bytes.replace(offset, patch.size(), patch);
    return file(name, bytes);
  }

 private:
  std::string path_;
};

std::string debian_kernel() {
  if (!std::filesystem::exists(kDebianKernel)) {
    FAIL(kDebianKernel << " is missing: run tools/default-guest-build (tools/test does)");
  }
  return kDebianKernel;
}

}  // namespace

TEST_CASE("a missing kernel is named") {
  check_refused({"run", "--kernel", "/nonexistent/vmlinuz"}, "kernel /nonexistent/vmlinuz does not exist");
}

TEST_CASE("random bytes are neither a bzImage nor an ELF") {
  TempDir dir;
  std::string noise(65536, '\0');
  uint32_t x = 12345;
  for (char& c : noise) c = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
  check_refused({"run", "--kernel", dir.file("noise", noise)}, "is neither a bzImage");
}

TEST_CASE("a truncated bzImage is refused") {
  TempDir dir;
  check_refused({"run", "--kernel", dir.copy(debian_kernel(), "truncated", 1 << 20)}, "is truncated");
}

TEST_CASE("a setup header with an unsupported boot protocol version is refused") {
  TempDir dir;
  // Boot protocol version at 0x206, little-endian: 2.02.
  const std::string old = dir.copy(debian_kernel(), "old", 0, 0x206, std::string("\x02\x02", 2));
  check_refused({"run", "--kernel", old}, "uses boot protocol 2.02");
}

TEST_CASE("an ELF without a PVH entry note is refused") {
  // busybox-static: an x86-64 executable with notes (8-byte aligned
  // .note.gnu.property among them), none of them PVH's.
  REQUIRE(std::filesystem::exists("/bin/busybox"));
  check_refused({"run", "--kernel", "/bin/busybox"}, "without a PVH entry note");
}

TEST_CASE("an initrd too large for guest memory is refused") {
  TempDir dir;
  const std::string initrd = dir.file("initrd", "");
  std::filesystem::resize_file(initrd, 300ULL << 20);  // Sparse: no disk used.
  check_refused({"run", "--kernel", debian_kernel(), "--initrd", initrd, "--mem", "256M"},
                "does not fit in guest memory");
}

TEST_CASE("a command line longer than the kernel accepts is refused") {
  check_refused({"run", "--kernel", debian_kernel(), "--cmdline", std::string(3000, 'a')},
                "--cmdline is 3000 bytes");
}

// The warning comes once the kernel has loaded, before the VM exists: a
// missing disk then stops kvmm there, without KVM.
TEST_CASE("a --cmdline without console= warns that the console will be silent") {
  const std::string missing_disk = "/nonexistent/kvmm-disk.img";
  const ProcessResult silent =
      run_process({KVMM_BINARY, "run", "--kernel", debian_kernel(), "--cmdline", "quiet",
                   "--disk", missing_disk});
  CHECK(silent.exit_status == 1);
  const std::vector<std::string> lines = lines_of(silent.err);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] ==
        "kvmm: warning: --cmdline has no console=, so the guest's serial console will be silent: "
        "add console=ttyS0 to it, or keep kvmm's default line and add to it with --append ARGS");
  CHECK(lines[1].find("disk " + missing_disk + ": no such file") != std::string::npos);

  // The default line with --append, or console= from either, is no surprise.
  for (const std::vector<std::string>& line :
       {std::vector<std::string>{"--append", "quiet"},
        std::vector<std::string>{"--cmdline", "console=ttyS0 quiet"},
        std::vector<std::string>{"--cmdline", "quiet", "--append", "console=ttyS0"}}) {
    std::vector<std::string> args = {"run", "--kernel", debian_kernel(), "--disk", missing_disk};
    args.insert(args.end(), line.begin(), line.end());
    check_refused(args, "disk " + missing_disk + ": no such file");
  }
}

TEST_CASE("guest memory too small for the kernel is refused") {
  check_refused({"run", "--kernel", debian_kernel(), "--mem", "32M"}, "raise --mem");
}

TEST_CASE("zero vCPUs are refused") {
  check_usage_error({"run", "--kernel", "/nonexistent/vmlinuz", "--cpus", "0"}, "give at least 1");
}

TEST_CASE("a multiboot kernel asking for what kvmm does not load is refused in one line") {
  TempDir dir;
  // Magic, flags (bit 16: the a.out address fields), checksum.
  const uint32_t magic = 0x1BADB002, flags = 1u << 16, checksum = 0u - magic - flags;
  std::string header;
  for (const uint32_t word : {magic, flags, checksum}) {
    for (int byte = 0; byte < 4; ++byte) header.push_back(static_cast<char>(word >> (8 * byte)));
  }
  header.resize(4096, '\0');
  check_refused({"run", "--kernel", dir.file("aout.flat", header)},
                "asks for the a.out address fields (flag 16)");
}

// Images Debian builds that need a BIOS or a 32-bit entry: refused by kvmm
// run before KVM is touched. Skipped (with a warning) when the package is
// not installed; tools/test installs memtest86+, syslinux-common and ipxe.
TEST_CASE("Debian's memdisk, ipxe.lkrn and memtest86+ia32.bin are refused in one line") {
  const std::vector<std::pair<std::string, std::string>> images = {
      {"/usr/lib/syslinux/memdisk", "which needs a BIOS kvmm does not provide: boot it with QEMU"},
      {"/boot/ipxe.lkrn", "which needs a BIOS kvmm does not provide: boot it with QEMU"},
      {"/boot/memtest86+ia32.bin", "kvmm enters a bzImage only in 64-bit mode"},
  };
  for (const auto& [path, needle] : images) {
    if (!std::filesystem::exists(path)) {
      WARN("skipped: " << path << " is missing (its Debian package is not installed)");
      continue;
    }
    INFO(path);
    check_refused({"run", "--kernel", path, "--mem", "256M"}, needle);
  }
}

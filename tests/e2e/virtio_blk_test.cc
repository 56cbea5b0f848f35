// virtio-blk with Debian's stock kernel: data disks, read-only disks, two
// disks with discard, a root filesystem on a disk, and what survives kill -9.
// The host checks every result on the image itself (debugfs, e2fsck).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/refusal.h"
#include "tests/support/run_process.h"

using namespace kvmm::testing;
namespace fs = std::filesystem;

namespace {

const std::string kGuestDir = KVMM_DEFAULT_GUEST_DIR;
const std::string kMakeImage = std::string(KVMM_SOURCE_DIR) + "/tools/make-ext4-image";
constexpr const char* kPrompt = "kvmm-guest# ";

// A folder under /tmp, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    char name[] = "/tmp/kvmm-blk-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { fs::remove_all(path); }
};

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

ProcessResult run(const std::vector<std::string>& argv) {
  ProcessOptions options;
  options.timeout = std::chrono::seconds(60);
  return run_process(argv, options);
}

// tools/make-ext4-image DIR IMAGE SIZE, which must succeed.
void make_image(const fs::path& dir, const fs::path& image, const std::string& size) {
  const auto r = run({"/bin/bash", kMakeImage, dir, image, size});
  INFO(r.out << r.err);
  REQUIRE(r.exit_status == 0);
}

// debugfs's view of FILE in IMAGE.
std::string debugfs_cat(const fs::path& image, const std::string& file) {
  const auto r = run({"/sbin/debugfs", "-R", "cat " + file, image});
  return r.out;
}

int e2fsck(const fs::path& image, const char* mode) {
  const auto r = run({"/sbin/e2fsck", "-f", mode, image});
  INFO(r.out << r.err);
  return r.exit_status;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

uint64_t allocated_bytes(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

struct Boot {
  std::vector<std::string> args;
  std::string cmdline = "console=ttyS0 quiet panic=-1";
  ProcessOptions options;
};

ProcessResult boot(Boot b) {
  const std::string kernel = kGuestDir + "/vmlinuz";
  if (!fs::exists(kernel)) FAIL(kernel << " is missing: run tools/default-guest-build (tools/test does)");
  std::vector<std::string> argv = {KVMM_BINARY, "run", "--kernel", kernel, "--initrd",
                                   kGuestDir + "/initrd.img", "--cmdline", b.cmdline, "--mem", "256M"};
  argv.insert(argv.end(), b.args.begin(), b.args.end());
  b.options.timeout = std::chrono::seconds(150);
  ProcessResult r = run_process(argv, b.options);
  // Unscoped: shown with whichever check of the caller fails.
  UNSCOPED_INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE_FALSE(r.timed_out);
  return r;
}

ProcessOptions::Exchange at_prompt(std::string commands) { return {kPrompt, std::move(commands)}; }

}  // namespace

TEST_CASE("The guest mounts an ext4 data disk and what it writes and syncs is on the image byte for byte") {
  TempDir dir;
  write_file(dir.path / "seed/hello.txt", "written by the host\n");
  const fs::path image = dir.path / "data.img";
  make_image(dir.path / "seed", image, "64M");

  Boot b;
  b.args = {"--disk", image};
  b.options.conversation = {
      at_prompt("mount -t ext4 /dev/vda /mnt && cat /mnt/hello.txt && "
                "echo guest-$((6*7)) > /mnt/note.txt && "
                "dd if=/dev/urandom of=/mnt/big bs=64k count=64 2>/dev/null && md5sum /mnt/big && "
                "sync && umount /mnt && echo step-$((1+1))\n"),
      at_prompt("poweroff -f\n")};
  const auto r = boot(b);
  REQUIRE(r.out.find("step-2") != std::string::npos);
  CHECK(r.out.find("written by the host") != std::string::npos);
  CHECK(r.exit_status == 0);

  std::smatch match;
  REQUIRE(std::regex_search(r.out, match, std::regex("([0-9a-f]{32})  /mnt/big")));
  const std::string guest_md5 = match[1];
  CHECK(debugfs_cat(image, "/note.txt") == "guest-42\n");
  const fs::path big = dir.path / "big";
  run({"/sbin/debugfs", "-R", "dump /big " + big.string(), image});
  const auto md5 = run({"/usr/bin/md5sum", big});
  CHECK(md5.out.substr(0, 32) == guest_md5);
  CHECK(fs::file_size(big) == 64 * 65536);
  CHECK(e2fsck(image, "-n") == 0);
}

TEST_CASE("A read-only disk cannot be written by the guest and its image is unchanged") {
  TempDir dir;
  write_file(dir.path / "seed/hello.txt", "read only\n");
  const fs::path image = dir.path / "ro.img";
  make_image(dir.path / "seed", image, "16M");
  const std::string before = read_all(image);

  Boot b;
  b.args = {"--disk", image.string() + ",ro"};
  b.options.conversation = {
      at_prompt("cat /sys/block/vda/ro; mount -t ext4 -o ro /dev/vda /mnt && cat /mnt/hello.txt; "
                "touch /mnt/new 2>/dev/null || echo touch-refused-$((1+1)); "
                "dd if=/dev/zero of=/dev/vda bs=4k count=1 oflag=direct 2>/dev/null "
                "|| echo dd-refused-$((2+1))\n"),
      at_prompt("poweroff -f\n")};
  const auto r = boot(b);
  CHECK(r.out.find("read only") != std::string::npos);
  CHECK(r.out.find("touch-refused-2") != std::string::npos);
  CHECK(r.out.find("dd-refused-3") != std::string::npos);
  CHECK(r.exit_status == 0);
  CHECK(read_all(image) == before);
}

TEST_CASE("Two disks at once and discard frees blocks in the backing file") {
  TempDir dir;
  write_file(dir.path / "a/which", "disk a\n");
  write_file(dir.path / "b/which", "disk b\n");
  make_image(dir.path / "a", dir.path / "a.img", "16M");
  make_image(dir.path / "b", dir.path / "b.img", "64M");

  uint64_t allocated_when_full = 0;
  Boot b;
  b.args = {"--disk", dir.path / "a.img", "--disk", dir.path / "b.img"};
  b.options.conversation = {
      at_prompt("mount /dev/vda /mnt && mkdir -p /m2 && mount /dev/vdb /m2 && cat /mnt/which /m2/which "
                "&& dd if=/dev/urandom of=/m2/fill bs=1M count=24 2>/dev/null && sync && "
                "echo filled-$((3*3))\n"),
      at_prompt("rm /m2/fill && sync && fstrim -v /m2 && sync && umount /m2 /mnt && "
                "echo trimmed-$((4*4))\n"),
      at_prompt("poweroff -f\n")};
  b.options.action_when_output_has = "filled-9";
  b.options.action = [&](int) { allocated_when_full = allocated_bytes(dir.path / "b.img"); };
  const auto r = boot(b);
  CHECK(r.out.find("disk a\r\ndisk b") != std::string::npos);
  REQUIRE(r.out.find("trimmed-16") != std::string::npos);
  CHECK(r.exit_status == 0);
  const uint64_t allocated_after = allocated_bytes(dir.path / "b.img");
  INFO("allocated with the file: " << allocated_when_full << ", after fstrim: " << allocated_after);
  CHECK(allocated_when_full >= 24u << 20);
  CHECK(allocated_after + (16u << 20) <= allocated_when_full);
  CHECK(e2fsck(dir.path / "b.img", "-n") == 0);
}

TEST_CASE("The guest boots with its root filesystem on virtio-blk") {
  TempDir dir;
  const fs::path root = dir.path / "root";
  fs::create_directories(root / "bin");
  fs::create_directories(root / "sbin");
  fs::create_directories(root / "dev");
  fs::create_directories(root / "proc");
  fs::copy_file("/bin/busybox", root / "bin/busybox");
  write_file(root / "sbin/init",
             "#!/bin/busybox sh\n"
             "/bin/busybox mount -t proc proc /proc\n"
             "/bin/busybox echo \"kvmm-root: init on $(/bin/busybox awk '$2 == \"/\" {print $1}' /proc/mounts)\"\n"
             "/bin/busybox poweroff -f\n");
  fs::permissions(root / "sbin/init", fs::perms::owner_all | fs::perms::group_read |
                                          fs::perms::group_exec | fs::perms::others_read |
                                          fs::perms::others_exec);
  const fs::path image = dir.path / "root.img";
  make_image(root, image, "32M");

  Boot b;
  b.args = {"--disk", image};
  b.cmdline += " root=/dev/vda";
  const auto r = boot(b);
  CHECK(r.out.find("kvmm-root: init on /dev/vda") != std::string::npos);
  CHECK(r.exit_status == 0);
}

TEST_CASE("kill -9 right after the guest's sync returns loses nothing that was synced") {
  TempDir dir;
  write_file(dir.path / "seed/keep", "k\n");
  const fs::path image = dir.path / "crash.img";
  make_image(dir.path / "seed", image, "32M");

  Boot b;
  b.args = {"--disk", image};
  b.options.conversation = {
      at_prompt("mount /dev/vda /mnt && mkdir /mnt/d && echo synced-$((5*5)) > /mnt/d/f && sync "
                "&& echo SYNCED-$((7*6))\n")};
  b.options.action_when_output_has = "SYNCED-42";
  b.options.action = [](int pid) { ::kill(pid, SIGKILL); };
  const auto r = boot(b);
  CHECK(r.exit_status == 128 + SIGKILL);
  // The journal may hold the last commit: replay it the way a reboot would.
  CHECK(e2fsck(image, "-y") <= 1);  // 0: clean, 1: errors corrected (the replay).
  CHECK(debugfs_cat(image, "/d/f") == "synced-25\n");
  CHECK(e2fsck(image, "-n") == 0);
}

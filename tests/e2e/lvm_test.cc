// LVM logical volumes as virtio-blk disks: a volume group on a loop device
// the test creates (and removes), its volumes made by tools/kvmm-pool, the
// guest's writes read back from the volume on the host, and the exclusive
// claims that keep a second kvmm and a host mount off a volume in use.
// Needs root and the loop, dm_mod and ext4 modules (the nested host's /init
// runs tests as root with them). The nested host has no udev and a read-only
// /etc, so LVM runs with its own configuration (LVM_SYSTEM_DIR): no udev
// synchronisation (LVM makes the /dev nodes itself), no metadata backups,
// its lock files in the test's folder.
#include <catch2/catch.hpp>

#include <stdlib.h>
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
const std::string kKvmmPool = std::string(KVMM_SOURCE_DIR) + "/tools/kvmm-pool";
constexpr const char* kPrompt = "kvmm-guest# ";
// Names a killed run may leave behind; the next run's setup removes them.
constexpr const char* kVolumeGroup = "kvmmtvg";
constexpr const char* kFolderPrefix = "/tmp/kvmm-lvm-";

// A shell command on the host; its output for the failure message.
ProcessResult host(const std::string& command) {
  ProcessOptions options;
  options.timeout = std::chrono::seconds(120);
  return run_process({"/bin/bash", "-c", command}, options);
}

std::string host_ok(const std::string& command) {
  const ProcessResult r = host(command);
  INFO(command << "\n" << r.out << r.err);
  REQUIRE(r.exit_status == 0);
  return r.out;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// Unmounts what the test mounted, removes the volume group and detaches the
// loop devices over files in the test's folders: those of this run, or of a
// killed one. LVM commands are slow to start under emulation, so the volume
// group is only removed when such a loop device exists.
const std::string kCleanup = std::string() +
    "for m in $(awk '$2 ~ \"^" + kFolderPrefix + "\" {print $2}' /proc/mounts); do umount -l \"$m\"; done; "
    "loops=$(losetup -n -O NAME,BACK-FILE | awk '$2 ~ \"^" + kFolderPrefix + "\" {print $1}'); "
    "if [ -n \"$loops\" ]; then vgremove -ff -y " + kVolumeGroup + "; "
    "for l in $loops; do losetup -d \"$l\"; done; fi; true";

// A volume group on a sparse file through a loop device, and the LVM
// configuration every LVM command of the test (tools/kvmm-pool's too) uses;
// removed again however the test ends.
struct HostVolumeGroup {
  fs::path dir;
  std::string loop;

  HostVolumeGroup() {
    ::setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
    char name[] = "/tmp/kvmm-lvm-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    dir = name;
    std::ofstream(dir / "lvm.conf")
        << "global { locking_dir = \"" << (dir / "lock").string() << "\" }\n"
        << "backup { backup = 0 archive = 0 }\n"
        << "activation { udev_sync = 0 udev_rules = 0 }\n"
        << "devices { obtain_device_list_from_udev = 0 }\n";
    ::setenv("LVM_SYSTEM_DIR", dir.c_str(), 1);
    host(kCleanup);  // Leftovers of a killed run.
    host_ok("truncate -s 256M " + (dir / "pv.img").string());
    loop = trimmed(host_ok("losetup -f --show " + (dir / "pv.img").string()));
    REQUIRE(loop.rfind("/dev/loop", 0) == 0);
    host_ok(std::string("vgcreate -q ") + kVolumeGroup + " " + loop);  // pvcreate included.
  }
  ~HostVolumeGroup() {
    host(kCleanup);
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  HostVolumeGroup(const HostVolumeGroup&) = delete;
  HostVolumeGroup& operator=(const HostVolumeGroup&) = delete;

  // tools/kvmm-pool create: the path it prints, which must exist.
  std::string create(const std::string& volume, const std::string& size) {
    const std::string path = trimmed(host_ok(kKvmmPool + " create " + kVolumeGroup + " " + volume + " " + size));
    CHECK(path == std::string("/dev/") + kVolumeGroup + "/" + volume);
    REQUIRE(fs::exists(path));
    return path;
  }
};

std::vector<std::string> kvmm_run_args(const std::string& disk) {
  return {"run", "--kernel", kGuestDir + "/vmlinuz", "--initrd", kGuestDir + "/initrd.img",
          "--cmdline", "console=ttyS0 quiet panic=-1", "--mem", "256M", "--disk", disk};
}

ProcessOptions::Exchange at_prompt(std::string commands) { return {kPrompt, std::move(commands)}; }

// The first line the guest printed as "MD5  -" (not the echoed command).
std::string guest_md5(const std::string& out) {
  std::smatch match;
  if (std::regex_search(out, match, std::regex("\n([0-9a-f]{32})  -"))) return match[1];
  return "none";
}

}  // namespace

TEST_CASE("A logical volume from tools/kvmm-pool is the guest's disk and holds what it wrote") {
  if (!fs::exists(kGuestDir + "/vmlinuz")) FAIL("build/default-guest is missing: run tools/default-guest-build");
  HostVolumeGroup vg;
  const std::string volume = vg.create("data", "64M");
  // The volume starts with known bytes, which the guest must see.
  host_ok("printf 'from-the-host' | dd of=" + volume + " bs=512 seek=100 conv=notrunc status=none");

  ProcessOptions options;
  options.timeout = std::chrono::seconds(300);  // With the checks run while the guest waits.
  options.conversation = {
      at_prompt("cat /sys/block/vda/size; dd if=/dev/vda bs=512 skip=100 count=1 2>/dev/null | head -c 13; "
                "echo; dd if=/dev/urandom of=/tmp/p bs=64k count=16 2>/dev/null && md5sum </tmp/p && "
                "dd if=/tmp/p of=/dev/vda bs=64k oflag=direct 2>/dev/null && sync && echo written-$((6*7))\n"),
      at_prompt("dd if=/dev/vda bs=64k count=16 iflag=direct 2>/dev/null | md5sum && echo still-$((7*7))\n"),
      at_prompt("poweroff -f\n")};
  // While the guest runs: a second kvmm and tools/kvmm-pool delete are refused.
  ProcessResult second;
  ProcessResult deleted;
  options.action_when_output_has = "written-42";
  options.action = [&](int) {
    std::vector<std::string> argv = {KVMM_BINARY};
    const std::vector<std::string> args = kvmm_run_args(volume);
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions second_options;
    second_options.timeout = std::chrono::seconds(60);
    second = run_process(argv, second_options);
    deleted = host(kKvmmPool + " delete " + kVolumeGroup + " data");
  };
  std::vector<std::string> argv = {KVMM_BINARY};
  const std::vector<std::string> args = kvmm_run_args(volume);
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessResult r = run_process(argv, options);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE_FALSE(r.timed_out);
  REQUIRE(r.out.find("written-42") != std::string::npos);
  CHECK(r.out.find(std::to_string(64 * 1024 * 2)) != std::string::npos);  // Sectors.
  CHECK(r.out.find("from-the-host") != std::string::npos);

  {
    INFO("second kvmm: status " << second.exit_status << "\nstdout:\n" << second.out << "\nstderr:\n" << second.err);
    CHECK(second.exit_status == 1);
    CHECK(second.out.empty());
    CHECK(lines_of(second.err).size() == 1);
    CHECK(second.err.find("kvmm: disk " + volume + ": is a block device opened exclusively by another process") !=
          std::string::npos);
  }
  {
    INFO("kvmm-pool delete: status " << deleted.exit_status << "\n" << deleted.out << deleted.err);
    CHECK(deleted.exit_status == 1);
    CHECK(deleted.err.find("volume data is in use") != std::string::npos);
  }

  // The first guest went on: it read its data back and powered off cleanly.
  REQUIRE(r.out.find("still-49") != std::string::npos);
  CHECK(r.exit_status == 0);
  const std::string written = guest_md5(r.out);
  REQUIRE(written != "none");
  const std::string after = r.out.substr(r.out.find("written-42"));
  CHECK(guest_md5(after) == written);
  CHECK(host_ok("head -c $((64*1024*16)) " + volume + " | md5sum").substr(0, 32) == written);

  const std::string list = host_ok(kKvmmPool + " list " + kVolumeGroup);
  CHECK(std::regex_search(list, std::regex("\ndata +64M +/dev/kvmmtvg/data\n")));
  host_ok(kKvmmPool + " delete " + kVolumeGroup + " data");
  CHECK_FALSE(fs::exists(volume));
  CHECK(host_ok(kKvmmPool + " list " + kVolumeGroup).find("data") == std::string::npos);
}

TEST_CASE("A logical volume mounted on the host is refused with its mount point") {
  if (!fs::exists(kGuestDir + "/vmlinuz")) FAIL("build/default-guest is missing: run tools/default-guest-build");
  HostVolumeGroup vg;
  const std::string volume = vg.create("mounted", "32M");
  const fs::path mount_point = vg.dir / "mnt";
  fs::create_directories(mount_point);
  host_ok("mkfs.ext4 -q " + volume + " && mount " + volume + " " + mount_point.string());

  check_refused(kvmm_run_args(volume), "disk " + volume + ": is a block device mounted on " +
                                           mount_point.string() + " on the host; unmount it first");
  const std::string pool_delete = kKvmmPool + " delete " + kVolumeGroup + " mounted";
  const ProcessResult refused_delete = host(pool_delete);
  CHECK(refused_delete.exit_status == 1);
  CHECK(refused_delete.err.find("volume mounted is in use") != std::string::npos);
  CHECK(fs::exists(volume));
  const ProcessResult again = host(kKvmmPool + " create " + kVolumeGroup + " mounted 8M");
  CHECK(again.exit_status == 1);
  CHECK(again.err.find("volume mounted already exists (" + volume + ")") != std::string::npos);
  const ProcessResult no_group = host(kKvmmPool + " list kvmmt-no-such-vg");
  CHECK(no_group.exit_status == 1);
  CHECK(no_group.err.find("no volume group kvmmt-no-such-vg") != std::string::npos);

  // Giving the loop device under the volume group instead: held by LVM.
  check_refused(kvmm_run_args(vg.loop), "disk " + vg.loop + ": is a block device held by dm-");

  host_ok("umount " + mount_point.string());
  host_ok(pool_delete);
  CHECK_FALSE(fs::exists(volume));
}

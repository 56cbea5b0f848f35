// --disk and --net refusals: each is one line naming the problem and the
// fix, before any VM exists (so they run without KVM), and a locked image is
// never opened for writing by a second kvmm.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "tests/support/refusal.h"
#include "tests/support/test_files.h"

using kvmm::testing::check_refused;
using kvmm::testing::check_usage_error;
using kvmm::testing::TempFile;

namespace {

const std::string kHello = std::string(KVMM_GUEST_DIR) + "/hello_long.bin";

std::vector<std::string> run_with(std::vector<std::string> device_args) {
  std::vector<std::string> args = {"run", "--flat", kHello, "--mode", "long"};
  args.insert(args.end(), device_args.begin(), device_args.end());
  return args;
}

}  // namespace

TEST_CASE("a missing disk image is refused with the way to make one") {
  check_refused(run_with({"--disk", "/nonexistent/disk.img"}), "tools/make-ext4-image");
}

TEST_CASE("a directory given as a disk is refused") {
  check_refused(run_with({"--disk", "/tmp"}), "is a directory");
}

TEST_CASE("an unknown disk option is refused with the accepted forms") {
  TempFile image(std::string(4096, '\0'));
  check_usage_error(run_with({"--disk", image.path.string() + ",fast"}),
                "accepted: --disk PATH[,ro][,serial=S][,cache=none|writeback]");
}

TEST_CASE("a disk image that is not whole sectors is refused with the truncate that fixes it") {
  TempFile image(std::string(1000, '\0'));
  check_refused(run_with({"--disk", image.path}), "truncate -s %512");
}

TEST_CASE("a qcow2 image given as a disk is refused with the qemu-img convert that fixes it") {
  TempFile image(std::string("QFI\xfb\0\0\0\x03", 8) + std::string(65536 - 8, '\0'));
  check_refused(run_with({"--disk", image.path.string() + ",ro"}),
                "is a qcow2 image, and kvmm reads disks as raw images; convert it: qemu-img "
                "convert -O raw " + image.path.string() + " " + image.path.string() + ".raw");
}

TEST_CASE("a disk image another process holds locked is refused and a shared read-only one is not") {
  TempFile image(std::string(4096, '\0'));
  const int fd = ::open(image.path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_SH) == 0);  // What a read-only user holds.
  check_refused(run_with({"--disk", image.path}), "in use by another process (locked)");
  ::close(fd);
}

TEST_CASE("a malformed MAC address for --net is refused") {
  check_usage_error(run_with({"--net", "tap=kvmm-none0,mac=52:54:00"}), "is not a MAC address");
}

TEST_CASE("a VLAN given to --net is a usage error that names the host-side setup") {
  check_usage_error(run_with({"--net", "tap=kvmm-none0,vlan=7"}),
                    "kvmm does not set VLANs: drop vlan= and put the tap in the VLAN on the host: "
                    "sudo tools/kvmm-net tap kvmm-none0 --vlan 7");
}

TEST_CASE("a --net fd= naming no open descriptor is refused") {
  check_refused(run_with({"--net", "fd=987"}), "not an open file descriptor");
}

TEST_CASE("a malformed --net user,hostfwd= is a usage error with the form") {
  check_usage_error(run_with({"--net", "user,hostfwd=tcp:2222:22"}),
                    "--net user,hostfwd=tcp:2222:22: hostfwd=tcp:2222:22: no '-' between the host "
                    "and guest sides; give hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:"
                    "GUESTPORT, e.g. hostfwd=tcp::2222-:22");
}

TEST_CASE("a tap's option with --net user is a usage error") {
  check_usage_error(run_with({"--net", "user,vhost=on"}),
                    "vhost= is for taps; user-mode networking moves frames in kvmm without "
                    "offloads: drop vhost= or use --net tap=NAME");
}

TEST_CASE("a --net user,hostfwd= whose host port is in use is refused before the VM starts") {
  // A listener on a port the kernel picks: that port is in use.
  const int busy = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(busy >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(busy, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(::listen(busy, 1) == 0);
  socklen_t size = sizeof(a);
  REQUIRE(::getsockname(busy, reinterpret_cast<sockaddr*>(&a), &size) == 0);
  const std::string port = std::to_string(ntohs(a.sin_port));
  check_refused(run_with({"--net", "user,hostfwd=tcp::" + port + "-:22"}),
                "port " + port + " on 127.0.0.1 is in use: pick another hostfwd port");
  ::close(busy);
}

TEST_CASE("more virtio devices than kvmm has interrupts for are refused") {
  TempFile image(std::string(4096, '\0'));
  std::vector<std::string> disks;
  for (int i = 0; i < 10; ++i) {
    disks.push_back("--disk");
    disks.push_back(image.path.string() + ",ro");
  }
  check_refused(run_with(disks), "too many virtio devices (10)");
}

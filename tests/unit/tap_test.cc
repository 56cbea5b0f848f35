// Tap refusals that need no privileges, and the offload flags.
#include <catch2/catch.hpp>

#include <linux/if_tun.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util/error.h"
#include "devices/virtio/net/tap.h"
#include "devices/virtio/net/virtio_net_spec.h"

using namespace kvmm;

namespace {

std::string adopt_refusal(int fd) {
  try {
    Tap::adopt(fd);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("tap: fd= must be an open descriptor") {
  CHECK(adopt_refusal(999) ==
        "--net fd=999: not an open file descriptor; the parent must pass the tap's fd open "
        "(without close-on-exec)");
}

TEST_CASE("tap: fd= must be a tap") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string why = adopt_refusal(fds[0]);
  ::close(fds[0]);
  ::close(fds[1]);
  CHECK(why.find(": not a tap (TUNGETIFF: ") != std::string::npos);
}

TEST_CASE("tap: offloads follow what the driver accepted") {
  CHECK(Tap::offload_flags(0) == 0);
  // TSO without GUEST_CSUM is not valid (§5.1.3.1) and asks for nothing.
  CHECK(Tap::offload_flags(kVirtioNetFGuestTso4) == 0);
  CHECK(Tap::offload_flags(kVirtioNetFGuestCsum) == TUN_F_CSUM);
  CHECK(Tap::offload_flags(kVirtioNetOffloadFeatures) ==
        (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN));
  // Host-side (TX) offloads need nothing from the tap.
  CHECK(Tap::offload_flags(kVirtioNetFCsum | kVirtioNetFHostTso4) == 0);
}

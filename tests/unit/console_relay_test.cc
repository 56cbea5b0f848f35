// The console relay of --serial socket: what a client sends reaches the
// machine's end even when the client hangs up at once, and what the guest
// wrote before anyone attached is shown on attach.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "app/api/api_client.h"
#include "app/api/console_relay.h"

namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/kvmm-relay-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// Reads from `fd` until `text` has arrived (bounded: 10 s of silence fails).
std::string read_until(int fd, const std::string& text) {
  std::string got;
  char buffer[256];
  while (got.find(text) == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    got.append(buffer, static_cast<size_t>(n));
  }
  return got;
}

}  // namespace

TEST_CASE("input from a console client that hangs up at once reaches the machine", "[threads]") {
  TempDir dir;
  kvmm::ConsoleRelay relay(dir.path / "vm.console", std::nullopt);
  relay.start();
  {
    kvmm::UniqueFd client = kvmm::connect_unix_socket(dir.path / "vm.console");
    REQUIRE(client.valid());
    const std::string typed = "uname -r; nproc\n";
    REQUIRE(::send(client.get(), typed.data(), typed.size(), 0) ==
            static_cast<ssize_t>(typed.size()));
  }  // Hangs up before the relay has even accepted it, maybe.
  CHECK(read_until(relay.machine_fd(), "nproc\n") == "uname -r; nproc\n");
}

TEST_CASE("a console client sees what the guest wrote before it attached", "[threads]") {
  TempDir dir;
  kvmm::ConsoleRelay relay(dir.path / "vm.console", std::nullopt);
  relay.start();
  const std::string early = "kvmm-guest# ";
  REQUIRE(::write(relay.machine_fd(), early.data(), early.size()) ==
          static_cast<ssize_t>(early.size()));
  // The relay takes the bytes before the client comes (bounded retries).
  kvmm::UniqueFd client;
  std::string seen;
  for (int attempt = 0; attempt < 50 && seen.find(early) == std::string::npos; ++attempt) {
    client = kvmm::connect_unix_socket(dir.path / "vm.console");
    REQUIRE(client.valid());
    seen = read_until(client.get(), early);
  }
  CHECK(seen == early);
}

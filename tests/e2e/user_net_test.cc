// --net user end to end: the default guest on libslirp's network
// 169.254.50.0/24 (link-local, DNS off), with seccomp on as by default. The
// guest reaches a server on the host's loopback through libslirp's host
// address, and a host port forwarded with hostfwd= reaches a listener in the
// guest. Only the host's loopback is used on the host side; nothing needs a
// tap, a bridge or root. As root (the nested host) each test runs in a network
// namespace of its own with just its loopback up; otherwise on this host's.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "base/util/unique_fd.h"
#include "tests/support/run_process.h"

using namespace kvmm::testing;
using kvmm::UniqueFd;

namespace {

const std::string kGuestDir = KVMM_DEFAULT_GUEST_DIR;
constexpr const char* kPrompt = "kvmm-guest# ";
constexpr auto kBootTimeout = std::chrono::seconds(180);
// libslirp's host (the guest's gateway) and the guest's address in it.
constexpr const char* kNet = "net=169.254.50.0/24,dns=off";
constexpr const char* kSlirpHost = "169.254.50.2";
constexpr const char* kGuestIp = "kvmm.ip=169.254.50.15/24,169.254.50.2";

ProcessOptions::Exchange at_prompt(std::string commands) { return {kPrompt, std::move(commands)}; }

ProcessResult boot(const std::string& net, ProcessOptions options) {
  REQUIRE(std::filesystem::exists(kGuestDir + "/vmlinuz"));
  options.timeout = kBootTimeout;
  const std::vector<std::string> argv = {
      KVMM_BINARY, "run", "--kernel", kGuestDir + "/vmlinuz", "--initrd",
      kGuestDir + "/initrd.img", "--cmdline",
      std::string("console=ttyS0 quiet panic=-1 ") + kGuestIp, "--mem", "256M",
      "--net", net};
  ProcessResult r = run_process(argv, options);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE_FALSE(r.timed_out);
  return r;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// What `fd` sends up to its first newline, or until it closes; a read that
// waits 30 s ends it. Neither side closes first: busybox nc stops at the
// network's end of file, maybe before it has sent its own line.
std::string read_line(int fd) {
  const timeval wait{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  std::string text;
  char c;
  while (text.size() < 4096 && ::read(fd, &c, 1) == 1) {
    text += c;
    if (c == '\n') break;
  }
  return text;
}

// Moves this thread (and so the threads and processes it starts) into a new
// network namespace and brings its loopback up, where it may (root); the
// nested host's own loopback is down. Each test is its own process.
void private_loopback() {
  if (::geteuid() != 0 || ::unshare(CLONE_NEWNET) != 0) return;
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  ifreq request{};
  std::strcpy(request.ifr_name, "lo");
  REQUIRE(::ioctl(fd.get(), SIOCGIFFLAGS, &request) == 0);
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  REQUIRE(::ioctl(fd.get(), SIOCSIFFLAGS, &request) == 0);
}

// A thread that is told to finish and joined however the test ends.
struct JoinedThread {
  std::function<void()> finish;
  std::thread thread;
  void join() {
    if (!thread.joinable()) return;
    finish();
    thread.join();
  }
  ~JoinedThread() { join(); }
};

// A TCP listener on the host's 127.0.0.1 at a port the kernel picks (so it is free).
struct LoopbackListener {
  UniqueFd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  uint16_t port = 0;
  LoopbackListener() {
    REQUIRE(fd.valid());
    sockaddr_in a = loopback(0);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(fd.get(), 4) == 0);
    socklen_t size = sizeof(a);
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &size) == 0);
    port = ntohs(a.sin_port);
  }
};

}  // namespace

TEST_CASE("user-mode network: the guest reaches a server on the host's loopback") {
  private_loopback();
  // Serves one connection: says hello, keeps the guest's line, closes.
  LoopbackListener listener;
  std::string received;
  JoinedThread server{[&] { ::shutdown(listener.fd.get(), SHUT_RDWR); }, std::thread([&] {
    UniqueFd c(::accept(listener.fd.get(), nullptr, nullptr));  // Unblocked by shutdown().
    if (!c.valid()) return;
    const std::string hello = "from-host-" + std::to_string(listener.port) + "\n";
    [[maybe_unused]] ssize_t n = ::write(c.get(), hello.data(), hello.size());
    received = read_line(c.get());
  })};
  ProcessOptions options;
  // restrict=off: libslirp's host address stands for the host's 127.0.0.1.
  // $((40+2)) prints 42 only when evaluated, never in the echoed command.
  options.conversation = {
      at_prompt("echo from-guest-$((40+2)) | nc -w 10 " + std::string(kSlirpHost) + " " +
                std::to_string(listener.port) + "; echo nc-done-$((40+2))\n"),
      at_prompt("poweroff -f\n")};
  const ProcessResult r = boot(std::string("user,") + kNet + ",restrict=off", options);
  server.join();
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_status == 0);
  CHECK(r.out.find("nc-done-42") != std::string::npos);
  CHECK(received == "from-guest-42\n");
  // The host's bytes arrived in the guest (nc printed them).
  CHECK(r.out.find("from-host-" + std::to_string(listener.port)) != std::string::npos);
}

TEST_CASE("user-mode network: a forwarded host port reaches a listener in the guest") {
  private_loopback();
  // A port that was free a moment ago; kvmm refuses to start if it is taken.
  const uint16_t port = LoopbackListener().port;
  std::atomic<bool> stop{false};
  std::string reply;
  // Connects to the forward until the guest's listener answers (bounded):
  // before it listens, libslirp takes the connection and closes it.
  JoinedThread client{[&] { stop = true; }, std::thread([&] {
    for (int attempt = 0; attempt < 300 && !stop; ++attempt) {
      UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      const sockaddr_in a = loopback(port);
      if (::connect(c.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0) {
        const std::string hello = "to-guest-through-forward\n";
        [[maybe_unused]] ssize_t n = ::write(c.get(), hello.data(), hello.size());
        const std::string text = read_line(c.get());
        if (text.find("from-guest") != std::string::npos) {
          reply = text;
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  })};
  ProcessOptions options;
  options.conversation = {
      at_prompt("echo from-guest-$((40+2)) | timeout 90 nc -l -p 7000; "
                "echo listen-done-$((40+2))\n"),
      at_prompt("poweroff -f\n")};
  const std::string net = std::string("user,") + kNet + ",restrict=on,hostfwd=tcp:127.0.0.1:" +
                          std::to_string(port) + "-:7000";
  const ProcessResult r = boot(net, options);
  client.join();
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_status == 0);
  CHECK(r.out.find("listen-done-42") != std::string::npos);
  CHECK(r.out.find("to-guest-through-forward") != std::string::npos);
  CHECK(reply == "from-guest-42\n");
}

// Managing running flat guests through the API (docs/api.md): kvmm list,
// info, pause, resume, stats and destroy against a real VM on KVM, two VMs
// at once, a clashing name, and clients that misbehave.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/kvm/guest_runner.h"
#include "tests/support/background_process.h"
#include "tests/support/test_files.h"
#include "tests/support/vm_api.h"

using namespace kvmm::testing;
using nlohmann::json;

namespace {

constexpr auto kBoot = std::chrono::seconds(30);

// A flat guest left running under `name`: print_forever prints a line
// again and again, spin prints once and spins.
struct FlatVm {
  BackgroundProcess process;
  FlatVm(const RunDir& dir, const std::string& name, const std::string& guest, int cpus = 1)
      : process({KVMM_BINARY, "run", "--flat", guest_path(guest), "--mode", "long", "--cpus",
                 std::to_string(cpus), "--name", name},
                dir.environment()) {}
};

json info_of(const RunDir& dir, const std::string& name) {
  const ProcessResult r = kvmm_client(dir, {"info", name, "--json"});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  return json::parse(r.out);
}

// stdout's size once it has stopped growing (bounded), or -1 if it never does.
long settled_size(const BackgroundProcess& process) {
  long last = -1;
  for (int i = 0; i < 50; ++i) {
    const long now = static_cast<long>(process.out().size());
    if (now == last) return now;
    last = now;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return -1;
}

uint64_t kernel_exits(const RunDir& dir, const std::string& name) {
  const ProcessResult r = kvmm_client(dir, {"stats", name, "--json"});
  REQUIRE(r.exit_status == 0);
  const json stats = json::parse(r.out);
  const json& kernel = stats["vcpus"][0]["kernel_stats"];
  if (!kernel["available"].get<bool>()) return 0;
  return kernel["counters"]["exits"].get<uint64_t>();
}

int connect_raw(const std::filesystem::path& socket) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, socket.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

}  // namespace

TEST_CASE("a running VM is listed with its vCPU threads, pauses, resumes and is destroyed") {
  RunDir dir;
  FlatVm vm(dir, "talker", "print_forever", 2);
  REQUIRE(vm.process.wait_for_output("the guest keeps talking", kBoot));

  const ProcessResult list = kvmm_client(dir, {"list"});
  CHECK(list.exit_status == 0);
  CHECK(list.out.find("talker") != std::string::npos);
  CHECK(list.out.find("running") != std::string::npos);
  const json listed = json::parse(kvmm_client(dir, {"list", "--json"}).out);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["pid"] == vm.process.pid());
  CHECK(listed[0]["vcpus"] == 2);

  const json info = info_of(dir, "talker");
  CHECK(info["state"] == "running");
  REQUIRE(info["vcpus"].size() == 2);
  for (int i = 0; i < 2; ++i) {
    const int tid = info["vcpus"][i]["tid"].get<int>();
    CHECK(thread_name(vm.process.pid(), tid) == "vcpu" + std::to_string(i));
    CHECK_FALSE(info["vcpus"][i]["affinity"].empty());
  }

  const uint64_t exits_before = kernel_exits(dir, "talker");
  CHECK(eventually([&] { return kernel_exits(dir, "talker") > exits_before; }, 100, 50));

  const ProcessResult pause = kvmm_client(dir, {"pause", "talker"});
  CHECK(pause.out == "VM 'talker' paused\n");
  CHECK(info_of(dir, "talker")["state"] == "paused");
  const long paused_size = settled_size(vm.process);
  REQUIRE(paused_size > 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(static_cast<long>(vm.process.out().size()) == paused_size);  // Nothing ran meanwhile.
  const ProcessResult again = kvmm_client(dir, {"pause", "talker"});
  CHECK(again.exit_status == 1);
  CHECK(again.err.find("the VM is paused") != std::string::npos);

  CHECK(kvmm_client(dir, {"resume", "talker"}).out == "VM 'talker' resumed\n");
  CHECK(vm.process.wait_for_output("the guest keeps talking", kBoot,
                                   static_cast<size_t>(paused_size)));

  const ProcessResult destroy = kvmm_client(dir, {"destroy", "talker"});
  CHECK(destroy.out == "VM 'talker' destroyed\n");
  CHECK(vm.process.wait_exit(kBoot) == 0);
  CHECK(vm.process.err().find("powered off through the API") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path / "talker.sock"));
  CHECK(kvmm_client(dir, {"info", "talker"}).err.find("no VM named 'talker' is running") !=
        std::string::npos);
}

namespace {

// Whether process `pid` has mapped a file whose path holds `name`.
bool maps_file(int pid, const std::string& name) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(name) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the HTTP library is loaded on the API's first client, not at start") {
  RunDir dir;
  FlatVm vm(dir, "lazy", "spin");
  REQUIRE(vm.process.wait_for_output("spinning", kBoot));
  // Nor libslirp and GLib without --net user, nor the decompressors as
  // shared libraries (they are linked in).
  CHECK_FALSE(maps_file(vm.process.pid(), "libslirp"));
  CHECK_FALSE(maps_file(vm.process.pid(), "libglib"));
  CHECK_FALSE(maps_file(vm.process.pid(), "liblzma"));
  CHECK_FALSE(maps_file(vm.process.pid(), "libcpp-httplib"));
  CHECK_FALSE(maps_file(vm.process.pid(), "libcrypto"));
  CHECK_FALSE(maps_file(vm.process.pid(), "kvmm-http.so"));
  CHECK(info_of(dir, "lazy")["state"] == "running");
  CHECK(maps_file(vm.process.pid(), "kvmm-http.so"));
  CHECK(maps_file(vm.process.pid(), "libcpp-httplib"));
  CHECK(kvmm_client(dir, {"destroy", "lazy"}).exit_status == 0);
  CHECK(vm.process.wait_exit(kBoot) == 0);
}

TEST_CASE("without its HTTP module the VM runs on and its API answers why, in one line") {
  RunDir dir;
  auto environment = dir.environment();
  environment.emplace_back("KVMM_HTTP_MODULE", (dir.path / "no-such-module.so").string());
  BackgroundProcess process({KVMM_BINARY, "run", "--flat", guest_path("spin"), "--mode", "long",
                             "--name", "bare"},
                            environment);
  REQUIRE(process.wait_for_output("spinning", kBoot));
  // The VM's own API answers 500 with the reason, and keeps serving.
  for (int i = 0; i < 2; ++i) {
    const int fd = connect_raw(dir.path / "bare.sock");
    const std::string request = "GET /api/v1/vm.info HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    std::string reply;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) reply.append(buffer, n);
    ::close(fd);
    INFO(reply);
    CHECK(reply.rfind("HTTP/1.1 500 ", 0) == 0);
    CHECK(reply.find("kvmm-http.so is missing") != std::string::npos);
  }
  // A client without the module says so; the VM is still running.
  ProcessOptions options;
  options.environment = environment;
  const ProcessResult info = run_process({KVMM_BINARY, "info", "bare"}, options);
  CHECK(info.exit_status == 1);
  CHECK(info.err.find("kvmm-http.so is missing") != std::string::npos);
  CHECK(info.err.find('\n') == info.err.size() - 1);
  REQUIRE(::kill(process.pid(), SIGTERM) == 0);  // Running until now; its API cannot end it.
  CHECK(process.wait_exit(kBoot).has_value());
}

TEST_CASE("pause and resume in a loop lose no vCPU and the VM runs on") {
  RunDir dir;
  FlatVm vm(dir, "loop", "print_forever", 2);
  REQUIRE(vm.process.wait_for_output("the guest keeps talking", kBoot));
  for (int i = 0; i < 20; ++i) {
    INFO("round " << i);
    REQUIRE(kvmm_client(dir, {"pause", "loop"}).exit_status == 0);
    REQUIRE(kvmm_client(dir, {"resume", "loop"}).exit_status == 0);
  }
  const size_t size = vm.process.out().size();
  CHECK(vm.process.wait_for_output("the guest keeps talking", kBoot, size));
  CHECK(kvmm_client(dir, {"destroy", "loop"}).exit_status == 0);
  CHECK(vm.process.wait_exit(kBoot) == 0);
}

TEST_CASE("two VMs run at once with their own sockets, and a name in use is refused") {
  RunDir dir;
  FlatVm one(dir, "one", "spin");
  FlatVm two(dir, "two", "spin");
  REQUIRE(one.process.wait_for_output("spinning\n", kBoot));
  REQUIRE(two.process.wait_for_output("spinning\n", kBoot));
  const json listed = json::parse(kvmm_client(dir, {"list", "--json"}).out);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["name"] == "one");
  CHECK(listed[1]["name"] == "two");
  CHECK(listed[0]["pid"] != listed[1]["pid"]);

  ProcessOptions options;
  options.environment = dir.environment();
  const ProcessResult clash = run_process(
      {KVMM_BINARY, "run", "--flat", guest_path("spin"), "--mode", "long", "--name", "one"},
      options);
  CHECK(clash.exit_status == 1);
  CHECK(clash.err.find("a running VM already uses the API socket") != std::string::npos);
  CHECK(clash.out.empty());  // Refused before any guest ran.
  CHECK(kvmm_client(dir, {"info", "one"}).exit_status == 0);  // The first is untouched.

  CHECK(kvmm_client(dir, {"destroy", "one"}).exit_status == 0);
  CHECK(kvmm_client(dir, {"destroy", "two"}).exit_status == 0);
  CHECK(one.process.wait_exit(kBoot) == 0);
  CHECK(two.process.wait_exit(kBoot) == 0);
}

TEST_CASE("garbage, floods, slow and many clients leave the VM and its API running") {
  RunDir dir;
  FlatVm vm(dir, "target", "print_forever");
  REQUIRE(vm.process.wait_for_output("the guest keeps talking", kBoot));
  const std::filesystem::path socket = dir.path / "target.sock";
  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(connect_raw(socket));  // More than it serves.
  const int garbage = connect_raw(socket);
  const std::string junk(3000, '\xff');
  ::send(garbage, junk.data(), junk.size(), MSG_NOSIGNAL);
  const int flood = connect_raw(socket);
  const std::string big(1 << 20, 'A');
  ::send(flood, big.data(), big.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  for (int fd : idle) ::close(fd);
  ::close(garbage);
  ::close(flood);
  // The API answers again once it has dropped them (bounded), and the guest
  // never stopped.
  CHECK(eventually([&] { return kvmm_client(dir, {"info", "target"}).exit_status == 0; }, 100, 100));
  const size_t size = vm.process.out().size();
  CHECK(vm.process.wait_for_output("the guest keeps talking", kBoot, size));
  CHECK(info_of(dir, "target")["state"] == "running");
  CHECK(kvmm_client(dir, {"destroy", "target"}).exit_status == 0);
  CHECK(vm.process.wait_exit(kBoot) == 0);
}

TEST_CASE("a flat guest has no power button: kvmm shutdown says so") {
  RunDir dir;
  FlatVm vm(dir, "flat", "spin");
  REQUIRE(vm.process.wait_for_output("spinning\n", kBoot));
  const ProcessResult r = kvmm_client(dir, {"shutdown", "flat"});
  CHECK(r.exit_status == 1);
  CHECK(r.err.find("a flat guest has no power button") != std::string::npos);
  CHECK(kvmm_client(dir, {"destroy", "flat"}).exit_status == 0);
  CHECK(vm.process.wait_exit(kBoot) == 0);
}

namespace {

// Destroys a detached VM at the end of a test, however the test ends.
struct DestroyAtEnd {
  const RunDir& dir;
  std::string name;
  ~DestroyAtEnd() { kvmm_client(dir, {"destroy", name}); }
};

}  // namespace

TEST_CASE("serial file= appends the console to a file and off drops it") {
  TempFile out("earlier line\n");
  const GuestRun to_file = run_guest("hello_long", "long", {"--serial", "file=" + out.path.string()});
  CHECK(to_file.result.exit_status == 0);
  CHECK(to_file.result.out.empty());
  CHECK(read_text(out.path) == "earlier line\nHello from long mode!\n");
  const GuestRun off = run_guest("hello_long", "long", {"--serial", "off"});
  CHECK(off.result.exit_status == 0);
  CHECK(off.result.out.empty());
}

TEST_CASE("a detached run returns once the guest runs and kvmm console shows what it wrote") {
  RunDir dir;
  TempFile log("");
  ProcessOptions options;
  options.environment = dir.environment();
  const ProcessResult run =
      run_process({KVMM_BINARY, "run", "--flat", guest_path("spin"), "--mode", "long", "--name",
                   "away", "--detach", "--console-log", log.path.string()},
                  options);
  DestroyAtEnd destroy{dir, "away"};
  INFO(run.err);
  REQUIRE(run.exit_status == 0);
  CHECK(run.out.find("VM 'away' is running") == 0);
  CHECK(kvmm_client(dir, {"info", "away"}).exit_status == 0);
  CHECK(eventually([&] { return read_text(log.path) == "spinning\n"; }));

  // The guest printed before anyone attached: the console replays it; Ctrl-]
  // detaches and the VM runs on.
  ProcessOptions talk;
  talk.environment = dir.environment();
  talk.conversation = {{"spinning\n", "\x1d"}};
  const ProcessResult console = run_process({KVMM_BINARY, "console", "away"}, talk);
  CHECK(console.exit_status == 0);
  CHECK(console.out == "spinning\n");
  CHECK(console.err.find("detached from VM 'away'") != std::string::npos);
  CHECK(json::parse(kvmm_client(dir, {"info", "away", "--json"}).out)["state"] == "running");

  CHECK(kvmm_client(dir, {"destroy", "away"}).exit_status == 0);
  CHECK_FALSE(std::filesystem::exists(dir.path / "away.sock"));
  CHECK_FALSE(std::filesystem::exists(dir.path / "away.console"));
  CHECK(eventually([&] {
    const std::string messages = read_text(dir.path / "away.log");
    return messages.find("powered off through the API") != std::string::npos &&
           messages.find("VM 'away' ended, exit status 0") != std::string::npos;
  }));
}

TEST_CASE("a detached VM that cannot start reports why and the parent fails with it") {
  RunDir dir;
  ProcessOptions options;
  options.environment = dir.environment();
  const ProcessResult run = run_process(
      {KVMM_BINARY, "run", "--flat", guest_path("spin"), "--mode", "long", "--mem", "1M",
       "--cpus", "64", "--name", "doomed", "--detach"},
      options);
  CHECK(run.exit_status == 1);
  CHECK(run.out.empty());
  CHECK(run.err.find("kvmm: ") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path / "doomed.sock"));
}

TEST_CASE("serial pty prints its path and the guest talks there") {
  RunDir dir;
  FlatVm vm(dir, "typist", "print_forever");
  // FlatVm's guest uses stdio; start a second one on a pty.
  BackgroundProcess pty({KVMM_BINARY, "run", "--flat", guest_path("print_forever"), "--mode",
                         "long", "--name", "pty", "--serial", "pty"},
                        dir.environment());
  std::string path;
  REQUIRE(eventually([&] {
    const std::string err = pty.err();
    const size_t at = err.find("/dev/pts/");
    if (at == std::string::npos) return false;
    path = err.substr(at, err.find('\n', at) - at);
    return true;
  }));
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  std::string seen;
  char buffer[256];
  for (int i = 0; i < 100 && seen.find("the guest keeps talking") == std::string::npos; ++i) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    seen.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  CHECK(seen.find("the guest keeps talking") != std::string::npos);
  CHECK(kvmm_client(dir, {"destroy", "pty"}).exit_status == 0);
  CHECK(pty.wait_exit(kBoot) == 0);
  CHECK(kvmm_client(dir, {"destroy", "typist"}).exit_status == 0);
}

TEST_CASE("kvmm info NAME --config writes a file that kvmm run --config starts again") {
  RunDir dir;
  std::optional<FlatVm> vm;
  vm.emplace(dir, "again", "print_forever", 2);
  REQUIRE(vm->process.wait_for_output("the guest keeps talking", kBoot));
  const ProcessResult config = kvmm_client(dir, {"info", "again", "--config"});
  INFO(config.err);
  REQUIRE(config.exit_status == 0);
  const json saved = json::parse(config.out);
  CHECK(saved["name"] == "again");
  CHECK(saved["cpus"] == 2);
  CHECK(saved["mode"] == "long");
  const std::filesystem::path file = dir.path / "again.json";
  std::ofstream(file) << config.out;
  REQUIRE(kvmm_client(dir, {"destroy", "again"}).exit_status == 0);
  CHECK(vm->process.wait_exit(kBoot) == 0);
  vm.reset();

  BackgroundProcess recreated({KVMM_BINARY, "run", "--config", file.string()}, dir.environment());
  REQUIRE(recreated.wait_for_output("the guest keeps talking", kBoot));
  const json info = info_of(dir, "again");
  CHECK(info["pid"] == recreated.pid());
  CHECK(info["config"] == saved);
  CHECK(info["vcpus"].size() == 2);
  CHECK(kvmm_client(dir, {"destroy", "again"}).exit_status == 0);
  CHECK(recreated.wait_exit(kBoot) == 0);
}

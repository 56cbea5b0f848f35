// nasm guests on real KVM: exact console output, exit status and the exact
// sequence of exits that reached kvmm (--exit-log).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/kvm/guest_runner.h"

using namespace kvmm::testing;

TEST_CASE("hello in real mode") {
  const auto run = run_guest("hello_real", "real");
  CHECK(run.result.exit_status == 0);
  CHECK(run.result.out == "Hello from real mode!\n");
  CHECK(run.result.err.empty());
  CHECK(run.exits == print_exits("Hello from real mode!\n") + "vcpu0 hlt\n");
}

TEST_CASE("hello in protected mode, entered by kvmm") {
  const auto run = run_guest("hello_protected", "protected");
  CHECK(run.result.exit_status == 0);
  CHECK(run.result.out == "Hello from protected mode!\n");
  CHECK(run.exits == print_exits("Hello from protected mode!\n") + "vcpu0 hlt\n");
}

TEST_CASE("a guest climbs from real to protected to long mode on its own") {
  const auto run = run_guest("climb_to_long", "real");
  const std::string text = "real mode\nprotected mode\nlong mode\n";
  CHECK(run.result.exit_status == 0);
  CHECK(run.result.out == text);
  CHECK(run.exits == print_exits(text) + "vcpu0 pio-out port=0x501 size=1 count=1 data=0x0\n");
}

TEST_CASE("PIO in/out, MMIO read/write, rep ins/outs and an open port, in exact order") {
  const auto run = run_guest("pio_mmio", "long");
  CHECK(run.result.exit_status == 42);  // The status the guest wrote to the debug-exit port.
  CHECK(run.result.out == "ok\n");
  CHECK(run.exits == read_text(std::string(KVMM_TEST_SOURCE_DIR) + "/kvm/expected/pio_mmio.exits"));
  // The read from the unclaimed port is reported once, on stderr.
  CHECK(run.result.err ==
        "kvmm: guest read from unhandled port 0x7ff (1 bytes) ignored; reported once per address\n");
}

TEST_CASE("a stats file counts the PIO and MMIO guest's exits by reason and port and address") {
  char dir[] = "/tmp/kvmm-stats-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/stats.json";
  const std::vector<std::string> extra = {"--stats-file=" + path};
  const auto run = run_guest("pio_mmio", "long", extra);
  const std::string json = read_text(path);
  std::filesystem::remove_all(dir);
  INFO("stats: " << json);
  CHECK(run.result.exit_status == 42);
  // Statistics do not change what the guest sees or which exits reach kvmm.
  CHECK(run.exits == read_text(std::string(KVMM_TEST_SOURCE_DIR) + "/kvm/expected/pio_mmio.exits"));
  const nlohmann::json stats = nlohmann::json::parse(json);
  REQUIRE(stats.at("vcpus").size() == 1);
  const nlohmann::json& vcpu = stats.at("vcpus").at(0);
  CHECK(vcpu.at("vcpu") == 0);
  CHECK(vcpu.at("exits_by_reason").at("io").get<uint64_t>() >= 8);
  CHECK(vcpu.at("exits_by_reason").at("mmio") == 3);
  CHECK(vcpu.at("io_ports").at("0x520 out") == 1);
  CHECK(vcpu.at("mmio_addresses").at("0xd0000004 write") == 1);
  CHECK(vcpu.at("handler_ns").get<uint64_t>() > 0);
  CHECK(vcpu.at("kvm_run_ns").get<uint64_t>() > 0);
  CHECK(vcpu.at("handler_latency_ns").at("count") == 12);
  // The kernel's own counters where KVM_GET_STATS_FD exists: its exits
  // include every one that reached kvmm.
  const nlohmann::json& kernel = vcpu.at("kernel_stats");
  if (!kernel.at("available").get<bool>()) {
    CHECK(kernel.contains("reason"));
  } else {
    CHECK(kernel.at("counters").at("exits").get<uint64_t>() >= 11);
  }
}

TEST_CASE("a triple fault ends the run with status 4 and the registers") {
  const auto run = run_guest("triple_fault", "long");
  CHECK(run.result.exit_status == 4);  // kExitGuestCrashed
  CHECK(run.result.err.find("the guest triple-faulted (KVM_EXIT_SHUTDOWN)") != std::string::npos);
  // The registers are printed. Their values are the guest's on Intel; kvm-amd
  // resets the vCPU while handling the shutdown, so there they are reset values.
  CHECK(run.result.err.find("\nrip=") != std::string::npos);
  CHECK(run.exits == "vcpu0 shutdown\n");
}

TEST_CASE("SIGTERM stops a never-exiting guest whose vCPU thread is named vcpu0") {
  std::vector<std::string> thread_names;
  ProcessOptions options;
  options.action = [&thread_names](int pid) {
    const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      thread_names.push_back(read_text(task.path() / "comm"));
    }
    ::kill(pid, SIGTERM);
  };
  options.action_after = std::chrono::milliseconds(1500);
  options.timeout = std::chrono::seconds(30);
  const auto run = run_guest("spin", "long", options);
  CHECK(run.result.exit_status == 128 + SIGTERM);
  CHECK(run.result.out == "spinning\n");
  CHECK(run.result.err == "kvmm: stopped by signal TERM\n");
  CHECK(std::count(thread_names.begin(), thread_names.end(), "vcpu0\n") == 1);
}

// Not a test: a KVM-less harness for counting kvmm's own instructions per
// user-space exit. It builds the PIO and MMIO buses with the devices every
// guest gets (COM1, debug exit, test device), fills a kvm_run the way KVM
// does for one recorded exit, and feeds it N times to ExitDispatcher, the
// same dispatch the vCPU loop calls after KVM_RUN. tools/bench-dispatch runs
// it under callgrind for two N and divides the difference, and with --mark
// under valgrind's lackey to count the pages each exit touches.
//
//   exit_dispatch_bench [pio_out|pio_in|mmio_write|mmio_read|serial_out] N [--mark]
//
// --mark stores the iteration number to a marker page at the start of every
// loop iteration and prints "marker 0xADDRESS" first, so a memory trace can
// be cut into exits (tools/lib/exit_pages.py). Without it the loop is the
// unmarked one, so callgrind's counts carry no marker cost.
#include <linux/kvm.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/bus/bus.h"
#include "vmm/arch/x86/layout.h"
#include "vmm/cpu/exit_dispatch.h"
#include "vmm/cpu/run_outcome.h"
#include "vmm/cpu/stop_controller.h"
#include "vmm/machine/platform_devices.h"

using namespace kvmm;

namespace {

// KVM maps the kvm_run page and puts PIO data in the same mapping, at
// io.data_offset (one page in, on x86).
constexpr size_t kRunBytes = 2 * 4096;
constexpr uint32_t kPioDataOffset = 4096;

void record_pio(kvm_run& run, uint16_t port, uint8_t direction) {
  run.exit_reason = KVM_EXIT_IO;
  run.io.direction = direction;
  run.io.size = 1;
  run.io.port = port;
  run.io.count = 1;
  run.io.data_offset = kPioDataOffset;
}

// A page of its own, so the marker stores share no page with what the
// dispatch touches; tools/lib/exit_pages.py leaves this page out.
struct alignas(4096) TraceMarker {
  volatile long iteration;
};
TraceMarker g_trace_marker;

// The loop of Vcpu::run_loop without KVM_RUN: the stop check, then dispatch.
// KVM rewrites kvm_run before each exit; the recorded exit stays in place
// here (dispatch does not change the fields it reads). With kMark, one store
// (one instruction, on the loop's own code page) marks each iteration's start.
template <bool kMark>
long run_exits(ExitDispatcher& dispatcher, const StopController& stop, kvm_run& run,
               std::span<uint8_t> run_bytes, long exits) {
  long handled = 0;
  while (!stop.stop_requested() && handled < exits) {
    if constexpr (kMark) g_trace_marker.iteration = handled;
    if (dispatcher.dispatch(run, run_bytes) != ExitDispatcher::Action::kContinue) break;
    ++handled;
  }
  return handled;
}

void record_mmio(kvm_run& run, uint64_t address, bool is_write) {
  run.exit_reason = KVM_EXIT_MMIO;
  run.mmio.phys_addr = address;
  run.mmio.len = 4;
  run.mmio.is_write = is_write ? 1 : 0;
  std::memset(run.mmio.data, 0x5a, sizeof run.mmio.data);
}

}  // namespace

int main(int argc, char** argv) {
  const bool mark = argc == 4 && std::string(argv[3]) == "--mark";
  if (argc != 3 && !mark) {
    std::fprintf(stderr, "usage: %s pio_out|pio_in|mmio_write|mmio_read|serial_out N [--mark]\n",
                 argv[0]);
    return 1;
  }
  const std::string kind = argv[1];
  const long exits = std::strtol(argv[2], nullptr, 10);
  if (exits <= 0) {
    std::fprintf(stderr, "exit_dispatch_bench: N must be a positive count\n");
    return 1;
  }

  StopController stop;
  Bus pio(Bus::Kind::kPio);
  Bus mmio(Bus::Kind::kMmio);
  uint64_t serial_bytes = 0;
  PlatformWiring wiring;
  wiring.serial_output = [&serial_bytes](uint8_t) { ++serial_bytes; };
  wiring.debug_exit = [&stop](uint8_t status) { stop.request_stop(RunOutcome{status, ""}); };
  add_platform_devices(pio, mmio, std::move(wiring));
  ExitDispatcher dispatcher(0, ExitWiring{&pio, &mmio, &stop, nullptr});

  // Page-aligned, like the mmap KVM gives.
  std::vector<uint8_t> area(kRunBytes + 4096);
  uint8_t* base = area.data() + (4096 - reinterpret_cast<uintptr_t>(area.data()) % 4096) % 4096;
  const std::span<uint8_t> run_bytes(base, kRunBytes);
  auto& run = *reinterpret_cast<kvm_run*>(base);

  auto record = [&] {
    if (kind == "pio_out") {
      record_pio(run, TestDevice::kPort, KVM_EXIT_IO_OUT);
    } else if (kind == "pio_in") {
      record_pio(run, TestDevice::kPort, KVM_EXIT_IO_IN);
    } else if (kind == "serial_out") {
      record_pio(run, kCom1Port, KVM_EXIT_IO_OUT);
    } else if (kind == "mmio_write") {
      record_mmio(run, kTestDeviceMmioAddress.value, true);
    } else if (kind == "mmio_read") {
      record_mmio(run, kTestDeviceMmioAddress.value, false);
    } else {
      return false;
    }
    return true;
  };
  if (!record()) {
    std::fprintf(stderr, "exit_dispatch_bench: unknown kind %s\n", kind.c_str());
    return 1;
  }
  base[kPioDataOffset] = 0x42;

  long handled = 0;
  if (mark) {
    std::printf("marker %p\n", static_cast<void*>(&g_trace_marker));
    std::fflush(stdout);
    handled = run_exits<true>(dispatcher, stop, run, run_bytes, exits);
  } else {
    handled = run_exits<false>(dispatcher, stop, run, run_bytes, exits);
  }
  std::printf("%ld %s exits dispatched (%llu serial bytes)\n", handled, kind.c_str(),
              static_cast<unsigned long long>(serial_bytes));
  return handled == exits ? 0 : 2;
}

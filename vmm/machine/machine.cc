#include "vmm/machine/machine.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <latch>
#include <thread>

#include "base/util/error.h"
#include "base/util/log.h"
#include "vmm/boot/acpi/acpi_tables.h"
#include "vmm/boot/acpi/mp_table.h"
#include "vmm/boot/flat_loader.h"
#include "vmm/boot/reset_vector.h"
#include "vmm/console/console_input.h"
#include "vmm/console/terminal.h"

namespace kvmm {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

Machine::Machine(const VmConfig& config)
    : config_(config),
      trace_(config.boot_trace),
      memory_(make_guest_memory(config.memory_bytes)) {}

std::unique_ptr<Machine> Machine::build(const VmConfig& config) {
  std::unique_ptr<Machine> machine(new Machine(config));
  // Guest memory and images first: bad input is reported as such even on a
  // host without KVM, and before anything is created in the kernel.
  machine->load_guest();
  machine->open_virtio_devices();
  machine->create_vm();
  machine->add_devices();
  if (config.exit_log_path) machine->exit_log_ = std::make_unique<ExitLog>(*config.exit_log_path);
  machine->create_vcpus();
  return machine;
}

void Machine::load_guest() {
  check_virtio_limits();
  if (config_.flat_image) {
    const uint64_t size = load_flat_image(memory_, *config_.flat_image, kFlatLoadAddress);
    write_mode_tables(memory_, config_.mode);
    // Each vCPU's stack lies below the previous one's, from the top of low RAM.
    // (A single vCPU's stack is the guest's business, as it always was.)
    const uint64_t stacks = uint64_t{config_.cpus} * kFlatStackBytes;
    if (config_.cpus > 1 &&
        low_ram_end(config_.memory_bytes) < kFlatLoadAddress.value + size + stacks) {
      throw Error("--mem " + std::to_string(config_.memory_bytes >> 20) + "M has no room for " +
                  std::to_string(config_.cpus) + " vCPU stacks of " +
                  std::to_string(kFlatStackBytes >> 10) + " KiB above the image: raise --mem");
    }
    return;
  }
  // Firmware tables first: the loader records the RSDP in the boot data.
  AcpiConfig acpi;
  acpi.cpus = config_.cpus;
  acpi.virtio_devices = virtio_acpi_devices();
  if (config_.cpus > kMaxFirmwareTableCpus) {
    throw Error("--cpus " + std::to_string(config_.cpus) + " is more than kvmm can describe to a "
                "guest (" + std::to_string(kMaxFirmwareTableCpus) + "): use fewer vCPUs");
  }
  const GuestAddress rsdp = write_acpi_tables(memory_, acpi);
  write_mp_table(memory_, config_.cpus);  // For acpi=off and kernels without ACPI.
  write_reset_vector_stub(memory_);

  LinuxBootRequest request;
  request.kernel = *config_.kernel;
  request.initrd = config_.initrd;
  request.cmdline = config_.cmdline;
  // Without ACPI the DSDT cannot describe the virtio devices; kernels built
  // with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES find them on the command line.
  // Only then: a kernel seeing both would probe each device twice.
  if (config_.cmdline.find("acpi=off") != std::string::npos) request.cmdline += virtio_cmdline_devices();
  request.ram_bytes = config_.memory_bytes;
  request.acpi_rsdp = rsdp;
  linux_ = load_linux(memory_, request);
  trace_.mark("kernel loaded");
}

void Machine::create_vm() {
  kvm_ = KvmSystem::open();
  kvm_->require_capabilities();
  check_vcpu_limits();
  vm_ = kvm_->create_vm();
  trace_.mark("VM created");
  vm_->set_identity_map_address(kIdentityMapAddress);
  vm_->set_tss_address(kTssAddress);
  uint32_t slot = 0;
  for (const GuestMemory::Region& region : memory_.regions()) {
    vm_->set_memory_slot(slot++, region.base, region.size(), region.mapping.data());
  }
  trace_.mark("memory mapped");
  if (config_.halt_poll_ns) {
    if (kvm_->check_extension(KVM_CAP_HALT_POLL) == 0) {
      throw Error("--halt-poll-ns needs KVM_CAP_HALT_POLL, which this host's KVM lacks (Linux "
                  "5.15+ has it): drop the option or set /sys/module/kvm/parameters/halt_poll_ns");
    }
    vm_->set_max_halt_poll_ns(*config_.halt_poll_ns);
  }
  if (is_flat_smp() || (!is_linux() && virtio_device_count() > 0)) {
    // The vCPUs of an SMP flat guest wake each other with IPIs: that needs
    // the local APICs, which come only with the whole in-kernel irqchip.
    // irqfd (virtio interrupts) needs it too. Other flat guests go without,
    // so their exits stay as they were.
    vm_->create_irqchip();
  }
  if (is_linux()) {
    if (kvm_backend_module() == "kvm_pvm") {
      // Measured: stock kernels hang silently there; say so up front.
      log_line("warning: this host's KVM is kvm_pvm, which does not boot stock Linux kernels "
               "(the guest will hang): run kvmm through tools/with-kvm --linux");
    }
    // Interrupt controllers and timer in the kernel: far faster than in
    // kvmm, and the vCPUs need the local APICs before they are created.
    vm_->create_irqchip();
    vm_->create_pit();
  }
}

RunOutcome Machine::run() {
  install_vcpu_kick_handler();
  // Stop signals go to a signalfd read by this thread only: blocked here
  // before the vCPU threads start, so they inherit the mask and never see them.
  const sigset_t signals = stop_signals();
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  UniqueFd signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd.valid()) throw_errno("signalfd failed");

  std::vector<std::thread> threads;
  threads.reserve(vcpus_.size());
  // No vCPU enters the guest before every thread is pinned and has its
  // policy: a refused --vcpu-sched stops the run before the guest runs.
  std::latch prepared(static_cast<std::ptrdiff_t>(vcpus_.size()));
  for (auto& vcpu : vcpus_) {
    threads.emplace_back([this, &vcpu, &prepared] {
      const std::string name = "vcpu" + std::to_string(vcpu->index());
      pthread_setname_np(pthread_self(), name.c_str());
      try {
        prepare_vcpu_thread(vcpu->index());
      } catch (const Error& e) {
        stop_.request_stop(RunOutcome{kExitSetupFailed, e.what()});
      }
      prepared.arrive_and_wait();
      if (stop_.stop_requested()) return;
      if (vcpu->index() == 0) trace_.mark("first KVM_RUN");
      vcpu->run_loop();
    });
  }

  // The console: stdin feeds COM1. On a terminal, raw mode passes every key
  // (Ctrl-C included) to the guest; the destructor restores it on every way
  // out of here, exceptions included.
  // Without a console (benchmarks) the terminal stays as it is, so Ctrl-C
  // reaches kvmm as SIGINT.
  std::optional<RawTerminal> terminal;
  std::optional<ConsoleInput> console;
  if (config_.console) {
    terminal.emplace(STDIN_FILENO);
    console.emplace(
        STDIN_FILENO, *serial_, [this] { stop_.request_stop(RunOutcome{kExitOk, ""}); },
        [](std::string_view text) {
          [[maybe_unused]] ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
        });
  }

  enum { kStop, kSignal, kConsoleSpace, kConsoleInput };
  pollfd fds[4] = {{stop_.fd(), POLLIN, 0},
                   {signal_fd.get(), POLLIN, 0},
                   {console ? console->space_fd() : -1, POLLIN, 0},
                   {-1, POLLIN, 0}};
  while (!stop_.stop_requested()) {
    // A negative fd is skipped by poll(): stdin is watched only while the
    // guest's UART can take more.
    fds[kConsoleInput].fd = console && console->wants_input() ? console->input_fd() : -1;
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll failed");
    }
    signalfd_siginfo info{};
    if ((fds[kSignal].revents & POLLIN) != 0 &&
        ::read(signal_fd.get(), &info, sizeof info) == sizeof info) {
      stop_.request_stop(RunOutcome{128 + static_cast<int>(info.ssi_signo),
                                    std::string("stopped by signal ") +
                                        sigabbrev_np(static_cast<int>(info.ssi_signo))});
    }
    if (console && fds[kConsoleSpace].revents != 0) console->on_space();
    if (fds[kConsoleInput].fd >= 0 && fds[kConsoleInput].revents != 0) console->on_readable();
  }

  for (auto& vcpu : vcpus_) vcpu->kick();
  for (auto& thread : threads) thread.join();
  stop_virtio_devices();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (config_.stats) report_stats();
  return stop_.outcome();
}

uint32_t Machine::tsc_khz() const { return vcpus_.at(0)->kvm().tsc_khz(); }

std::vector<VcpuStats> Machine::vcpu_stats() const {
  std::vector<VcpuStats> stats;
  for (const auto& vcpu : vcpus_) {
    if (vcpu->stats() != nullptr) stats.push_back(*vcpu->stats());
  }
  return stats;
}

void Machine::report_stats() const {
  // Only now, with every vCPU thread joined, may this thread read their stats.
  std::vector<VcpuStats> stats;
  for (const auto& vcpu : vcpus_) stats.push_back(*vcpu->stats());
  const StatsOutput& output = *config_.stats;
  if (output.to_stderr) {
    const std::string text = *output.to_stderr == StatsOutput::Format::kJson
                                 ? format_stats_json(stats)
                                 : format_stats_text(stats);
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
  }
  if (output.json_path) {
    // The run itself is over and its outcome stands: a failed write is
    // reported, not turned into a different exit status.
    std::ofstream file(*output.json_path, std::ios::binary | std::ios::trunc);
    file << format_stats_json(stats);
    file.close();
    if (!file) log_line("could not write the statistics to " + *output.json_path +
                        ": check that its directory exists and is writable");
  }
}

}  // namespace kvmm

#include "vmm/machine/machine.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <latch>
#include <thread>

#include "base/util/error.h"
#include "base/util/log.h"
#include "base/util/output_file.h"
#include "base/util/stop_signals.h"
#include "base/util/thread_launcher.h"
#include "base/util/thread_stack.h"
#include "devices/virtio/block/virtio_block.h"
#include "devices/virtio/net/slirp_backend.h"
#include "devices/virtio/net/tap.h"
#include "devices/virtio/net/virtio_net.h"
#include "vmm/boot/acpi/acpi_tables.h"
#include "vmm/boot/acpi/mp_table.h"
#include "vmm/boot/flat_loader.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/multiboot/bios_handoff.h"
#include "vmm/boot/multiboot/multiboot.h"
#include "vmm/boot/reset_vector.h"
#include "vmm/console/console_input.h"
#include "vmm/console/terminal.h"
#include "vmm/machine/guest_cmdline.h"
#include "vmm/machine/memory_slots.h"
#include "vmm/security/jail.h"
#include "vmm/security/seccomp.h"

namespace kvmm {

namespace {

// How long run() waits at exit for a reader of stdout to take more output.
constexpr int kOutputStallMs = 1000;

}  // namespace

std::unique_ptr<Machine> Machine::build(const VmConfig& config) {
  // --jail's own refusals (directory, root, ids) before anything is opened.
  const std::optional<JailPlan> jail =
      config.jail ? std::optional<JailPlan>(resolve_jail(*config.jail)) : std::nullopt;
  if (jail) prepare_jail();
  // Before any thread exists: the disks' worker threads start while the
  // machine is built and load their filters through the hook set here.
  prepare_seccomp(config.seccomp, FilterNeeds{.stats = config.stats.has_value(),
                                              .api_socket = config.api,
                                              .jail = jail.has_value()});
  auto machine = std::unique_ptr<Machine>(new Machine(config));
  // Everything the run needs is open now: /dev/kvm, the VM and vCPU fds,
  // guest RAM with the kernel or image in it, disks and their rings, taps,
  // vhost-net, --net user's forwarded ports, the exit log and the statistics
  // file (the caller opened the API socket and the console before). The only
  // other threads are the disks' blk-workers and --net user's slirp threads;
  // no vCPU, API or device I/O thread exists yet.
  if (jail) {
    enter_jail(*jail);
    machine->trace_.mark("jailed");
  }
  return machine;
}

Machine::Machine(const VmConfig& config)
    : config_(config),
      trace_(config.boot_trace),
      memory_(make_guest_memory(config.memory_bytes)),
      virtio_slots_(config.disks.size() + config.nets.size()),
      linux_(load_guest()),
      virtio_(virtio_slots_.create_transports(memory_, mmio_, open_virtio_devices())),
      kvm_(open_kvm()),
      vm_(create_vm()),
      platform_(add_platform_devices(pio_, mmio_, platform_wiring())),
      exit_log_(config.exit_log_path ? std::make_unique<ExitLog>(*config.exit_log_path) : nullptr),
      stats_file_(open_stats_file()),
      vcpus_(create_vcpus()) {}

Machine::StatsFile Machine::open_stats_file() const {
  // Opened now, not at exit: --jail's chroot comes in between. A failure is
  // reported at exit, when the statistics would have been written, and the
  // run's outcome stands.
  StatsFile file;
  if (!config_.stats || !config_.stats->json_path) return file;
  // Never through a symbolic link (base/util/output_file.h).
  try {
    file.fd = open_output_file(*config_.stats->json_path, "statistics file");
  } catch (const Error& e) {
    file.error = e.what();
  }
  return file;
}

std::optional<LinuxBootInfo> Machine::load_guest() {
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
    return std::nullopt;
  }
  const bool multiboot = has_multiboot_header(ImageFile::open(*config_.kernel, "kernel"));
  // Firmware tables first: the loader records the RSDP in the boot data.
  AcpiConfig acpi;
  acpi.cpus = config_.cpus;
  acpi.virtio_devices = virtio_slots_.acpi_devices();
  // Tests written for PCs read the PM timer (kvm-unit-tests' vmexit), the
  // RTC and the PM1 blocks, and sleep through them (s3); Linux, on
  // hardware-reduced ACPI, looks for none of them.
  if (multiboot) {
    acpi.pm_timer_port = kPmTimerPort;
    acpi.pm1 = AcpiConfig::Pm1Blocks{kPm1EventPort, kPm1ControlPort};
    acpi.cmos_rtc = true;
  }
  if (config_.cpus > kMaxFirmwareTableCpus) {
    throw Error("--cpus " + std::to_string(config_.cpus) + " is more than kvmm can describe to a "
                "guest (" + std::to_string(kMaxFirmwareTableCpus) + "): use fewer vCPUs");
  }
  const GuestAddress rsdp = write_acpi_tables(memory_, acpi);
  write_mp_table(memory_, config_.cpus);  // For acpi=off and kernels without ACPI.
  write_reset_vector_stub(memory_);
  if (multiboot) {
    MultibootRequest request;
    request.kernel = *config_.kernel;
    request.module = config_.initrd;
    request.cmdline = multiboot_cmdline(config_);
    request.ram_bytes = config_.memory_bytes;
    const MultibootBootInfo loaded = load_multiboot(memory_, request);
    // Written after the kernel: a kernel loaded over address 0 keeps what
    // it brought, and the tables are then the BIOS's, as under QEMU.
    write_bios_interrupt_table(memory_);
    write_bios_data_area(memory_);
    trace_.mark("kernel loaded");
    LinuxBootInfo info;
    info.protocol = LinuxBootInfo::Protocol::kMultiboot;
    info.entry = loaded.entry;
    info.boot_data = loaded.info;
    info.kernel_load = loaded.load_start;
    info.kernel_end = loaded.load_end;
    info.initrd_address = loaded.module_address;
    info.initrd_size = loaded.module_size;
    return info;
  }

  LinuxBootRequest request;
  request.kernel = *config_.kernel;
  request.initrd = config_.initrd;
  request.cmdline = linux_cmdline(config_);
  // Without ACPI the DSDT cannot describe the virtio devices; kernels built
  // with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES find them on the command line.
  // Only then: a kernel seeing both would probe each device twice.
  if (request.cmdline.has("acpi=off")) virtio_slots_.add_cmdline_devices(request.cmdline);
  request.ram_bytes = config_.memory_bytes;
  request.acpi_rsdp = rsdp;
  request.unpacked = unpack_kernel();
  LinuxBootInfo info = load_linux(memory_, request);
  // A --cmdline replaces the default line, console=ttyS0 with it: the
  // kernel then prints nothing on COM1 and the run looks hung. Said once the
  // kernel is known to load, so that a refusal stays the only line.
  if (linux_console_silent(config_, request.cmdline)) {
    log_line("warning: --cmdline has no console=, so the guest's serial console will be "
             "silent: add console=ttyS0 to it, or keep kvmm's default line and add to it "
             "with --append ARGS");
  }
  trace_.mark("kernel loaded");
  return info;
}

std::optional<UnpackedKernel> Machine::unpack_kernel() {
  if (config_.kernel_unpack == KernelUnpack::kOff) return std::nullopt;
  // Opened here, in the constructor: before --jail's chroot (the directory
  // is the user's, outside the jail) and before the main thread's seccomp
  // filter, which allows neither memfd_create nor opening files.
  std::optional<KernelCache> cache;
  if (config_.kernel_unpack == KernelUnpack::kCache) {
    if (auto dir = KernelCache::default_dir()) cache = KernelCache::open(*dir);
  }
  const ImageFile file = ImageFile::open(*config_.kernel, "kernel");
  UnpackOutcome outcome = unpack_bzimage(file, *config_.kernel, cache ? &*cache : nullptr);
  if (!outcome.note.empty()) trace_.mark(outcome.note);
  return std::move(outcome.kernel);
}

std::vector<VirtioDeviceEntry> Machine::open_virtio_devices() const {
  // Opened before the VM exists: a missing, locked or unreadable image is
  // reported like any other bad input, before anything is created in KVM.
  std::vector<VirtioDeviceEntry> devices;
  for (size_t i = 0; i < config_.disks.size(); ++i) {
    devices.push_back({std::make_unique<VirtioBlock>(config_.disks[i], i),
                       "virtio-blk" + std::to_string(i), nullptr});
  }
  for (size_t i = 0; i < config_.nets.size(); ++i) {
    const NetOptions& net = config_.nets[i];
    std::unique_ptr<NetBackend> backend;
    if (net.user) {
      backend = std::make_unique<SlirpBackend>(*net.user, static_cast<unsigned>(i));
    } else {
      backend = std::make_unique<Tap>(net.tap.empty() ? Tap::adopt(net.fd) : Tap::open(net.tap));
    }
    auto vhost = net.vhost ? std::make_unique<VhostNet>(VhostNet::open()) : nullptr;
    // libslirp takes only whole frames with their checksums done.
    const NetOffloads offloads = net.user ? NetOffloads::kOff : net.offloads;
    auto device = std::make_unique<VirtioNet>(
        std::move(backend), VirtioNetConfig{net.mac, offloads, static_cast<unsigned>(i)},
        std::move(vhost));
    // The transport owns the device and outlives every call of the summary.
    const VirtioNet* counters = device.get();
    devices.push_back({std::move(device), "virtio-net" + std::to_string(i),
                       [counters] { return counters->summary(); }});
  }
  return devices;
}

KvmSystem Machine::open_kvm() const {
  KvmSystem kvm = KvmSystem::open();
  kvm.require_capabilities();
  check_vcpu_limits(kvm);
  return kvm;
}

KvmVm Machine::create_vm() {
  KvmVm vm = kvm_.create_vm();
  trace_.mark("VM created");
  map_guest_memory(vm, memory_);
  trace_.mark("memory mapped");
  if (config_.halt_poll_ns) {
    if (kvm_.check_extension(KVM_CAP_HALT_POLL) == 0) {
      throw Error("--halt-poll-ns needs KVM_CAP_HALT_POLL, which this host's KVM lacks (Linux "
                  "5.15+ has it): drop the option or set /sys/module/kvm/parameters/halt_poll_ns");
    }
    vm.set_max_halt_poll_ns(*config_.halt_poll_ns);
  }
  if (is_flat_smp() || (!is_linux() && virtio_.size() > 0)) {
    // The vCPUs of an SMP flat guest wake each other with IPIs: that needs
    // the local APICs, which come only with the whole in-kernel irqchip.
    // irqfd (virtio interrupts) needs it too. Other flat guests go without,
    // so their exits stay as they were.
    vm.create_irqchip();
  }
  if (is_linux()) {
    if (kvm_backend_module() == "kvm_pvm") {
      // Measured: stock kernels hang silently there; say so up front.
      log_line("warning: this host's KVM is kvm_pvm, which does not boot stock Linux kernels "
               "(the guest will hang): run kvmm through tools/with-kvm --linux");
    }
    // Interrupt controllers and timer in the kernel: far faster than in
    // kvmm, and the vCPUs need the local APICs before they are created.
    vm.create_irqchip();
    vm.create_pit();
    if (is_multiboot()) set_bios_timer_state(vm);
  }
  virtio_.register_eventfds(vm);
  return vm;
}

void Machine::set_bios_timer_state(KvmVm& vm) {
  for (const uint32_t id : {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE}) {
    kvm_irqchip chip = vm.irqchip(id);
    set_bios_pic_state(chip.chip.pic, id == KVM_IRQCHIP_PIC_MASTER);
    vm.set_irqchip(chip);
  }
  kvm_pit_state2 pit = vm.pit_state();
  set_bios_pit_state(pit);
  vm.set_pit_state(pit);
}

PlatformWiring Machine::platform_wiring() {
  PlatformWiring wiring;
  wiring.serial_output = [this](uint8_t byte) {
    trace_.mark("first console byte");
    panic_watch_.feed(byte);
    // Never blocks: a stalled stdout costs output, not the vCPU.
    console_output_.append(byte);
  };
  wiring.debug_exit = [this](uint8_t status) { stop_.request_stop(RunOutcome{status, ""}); };
  wiring.debug = debug_devices_for(is_linux() ? GuestKind::kLinux : GuestKind::kFlat,
                                   config_.debug_devices);
  // Guest-controlled: an address outside RAM flushes nothing.
  wiring.pc_testdev.flush_page = [this](uint64_t gpa) {
    static_cast<void>(memory_.flush_page(GuestAddress{gpa}));
  };
  // Only a kernel's VM is sure to have the in-kernel interrupt controllers.
  wiring.pc_testdev.set_irq = [this](unsigned line, bool level) {
    if (is_linux()) vm_.set_irq_line(line, level);
  };
  if (is_multiboot()) {
    wiring.firmware = PlatformWiring::Firmware{
        .cpus = static_cast<uint16_t>(config_.cpus),
        .ram_bytes = config_.memory_bytes,
        .rtc_interrupt = [this](bool level) { vm_.set_irq_line(CmosRtc::kIrq, level); },
        .sleep = [this](uint8_t sleep_type) { request_sleep(sleep_type); }};
  }
  if (!is_linux()) return wiring;
  wiring.serial_interrupt = [this](bool asserted) { vm_.set_irq_line(kCom1Irq, asserted); };
  PlatformWiring::Linux& linux_devices = wiring.linux_devices.emplace();
  linux_devices.power_off = [this] { guest_powered_off(); };
  // A panicking kernel (panic=-1) resets the same way a rebooting one does;
  // the console tells them apart.
  linux_devices.reset = [this] {
    trace_.mark("guest reset");
    if (auto reason = panic_watch_.panic_reason()) {
      stop_.request_stop(RunOutcome{kExitGuestPanicked, "the guest kernel panicked: " + *reason});
    } else {
      stop_.request_stop(
          RunOutcome{kExitOk, "the guest rebooted; kvmm stops instead of restarting it"});
    }
  };
  linux_devices.boot_marker = [this](const BootMarkerEvent& event) {
    if (event.guest_clock_ms) {
      trace_.mark_earlier(kKernelStartPhase, std::chrono::milliseconds(*event.guest_clock_ms));
    } else {
      trace_.mark(boot_marker_phase(event.phase));
    }
  };
  linux_devices.event_interrupt = [this](bool asserted) { vm_.set_irq_line(kGedGsi, asserted); };
  return wiring;
}

RunOutcome Machine::run(const std::function<void()>& on_started) {
  install_vcpu_kick_handler();
  // Stop signals go to a signalfd read by this thread only. main() blocked
  // them before any thread existed (the disks' blk-worker threads start in
  // build()); blocked here again for callers that did not, before the vCPU
  // threads start, so every thread inherits the mask and never sees them.
  const sigset_t signals = stop_signals();
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  UniqueFd signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd.valid()) throw_errno("signalfd failed");

  // Before any filter but the disks' and slirp's: the device I/O threads
  // that vCPUs activate are started by the launcher and inherit its filter,
  // not the vCPU's (base/util/thread_launcher.h). Destroyed last, after the
  // devices' threads are joined.
  ThreadLauncher launcher;

  // The console, before any vCPU runs: stdin feeds COM1. On a terminal, raw
  // mode passes every key (Ctrl-C included) to the guest; the destructor
  // restores it on every way out of here, exceptions included, and the fatal
  // signal handlers of main() through RawTerminal::restore_saved().
  // Without a console (benchmarks) the terminal stays as it is, so Ctrl-C
  // reaches kvmm as SIGINT.
  std::optional<RawTerminal> terminal;
  std::optional<ConsoleInput> console;
  if (config_.console) {
    terminal.emplace(config_.console_input);
    console.emplace(
        config_.console_input, *platform_.serial, [this] { stop_.request_stop(RunOutcome{kExitOk, ""}); },
        [this](std::string_view text) { console_output_.append(text); });
  }

  std::vector<std::thread> threads;
  threads.reserve(vcpus_.size());
  // No vCPU enters the guest before every thread is pinned and has its
  // policy: a refused --vcpu-sched stops the run before the guest runs.
  std::latch prepared(static_cast<std::ptrdiff_t>(vcpus_.size()));
  for (auto& vcpu : vcpus_) {
    threads.emplace_back([this, &vcpu, &prepared] {
      const std::string name = "vcpu" + std::to_string(vcpu->index());
      pthread_setname_np(pthread_self(), name.c_str());
      keep_stack_in_small_pages();
      try {
        prepare_vcpu_thread(vcpu->index());
        // Its fds (vCPU, kvm_run, devices) are open. The device threads
        // it asks for at DRIVER_OK are the launcher's children, not its own.
        install_thread_filter(ThreadRole::kVcpu);
      } catch (const Error& e) {
        stop_.request_stop(RunOutcome{kExitSetupFailed, e.what()});
      }
      prepared.arrive_and_wait();
      if (stop_.stop_requested()) return;
      if (vcpu->index() == 0) trace_.mark("first KVM_RUN");
      vcpu->run_loop();
    });
  }

  mark_running();
  // Before the main thread's filter: the caller may still rearrange its fds.
  if (on_started && !stop_.stop_requested()) on_started();

  // Last, once every vCPU thread exists (a filter is inherited) and the
  // terminal is in raw mode.
  try {
    install_thread_filter(ThreadRole::kMain);
  } catch (const Error& e) {
    stop_.request_stop(RunOutcome{kExitSetupFailed, e.what()});
  }


  enum { kStop, kSignal, kConsoleSpace, kConsoleInput, kOutputWake, kOutput, kSleep, kFdCount };
  pollfd fds[kFdCount] = {{stop_.fd(), POLLIN, 0},
                          {signal_fd.get(), POLLIN, 0},
                          {console ? console->space_fd() : -1, POLLIN, 0},
                          {-1, POLLIN, 0},
                          {console_output_.wake_fd(), POLLIN, 0},
                          {-1, POLLOUT, 0},
                          {sleep_event_.get(), POLLIN, 0}};
  while (!stop_.stop_requested()) {
    // A negative fd is skipped by poll(): stdin is watched only while the
    // guest's UART can take more, stdout only while output waits.
    fds[kConsoleInput].fd = console && console->wants_input() ? console->input_fd() : -1;
    fds[kOutput].fd = console_output_.wants_output() ? console_output_.output_fd() : -1;
    // The RTC's next interrupt (or wake event) is this thread's to deliver.
    std::optional<timespec> timeout;
    if (platform_.rtc) {
      if (const std::optional<uint64_t> at = platform_.rtc->next_event_ns()) {
        const uint64_t now = CmosRtc::realtime_ns();
        const uint64_t wait = *at > now ? *at - now : 0;
        timeout = timespec{static_cast<time_t>(wait / 1'000'000'000),
                           static_cast<long>(wait % 1'000'000'000)};
      }
    }
    if (::ppoll(fds, kFdCount, timeout ? &*timeout : nullptr, nullptr) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll failed");
    }
    if (fds[kSleep].revents != 0) {
      sleep_event_.consume();
      enter_sleep();
    }
    if (platform_.rtc) {
      platform_.rtc->poll();
      if (asleep_ && platform_.pm1->wake_pending()) wake_from_sleep();
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
    if (fds[kOutputWake].revents != 0) console_output_.on_wake();
    if (fds[kOutput].fd >= 0 && fds[kOutput].revents != 0) console_output_.on_writable();
  }

  mark_stopping();
  for (auto& vcpu : vcpus_) vcpu->kick();
  for (auto& thread : threads) thread.join();
  virtio_.shutdown();
  // The guest's last words, as long as someone reads them; a reader that
  // takes nothing for a second gets the rest counted as dropped.
  console_output_.flush(kOutputStallMs);
  if (const uint64_t dropped = console_output_.dropped(); dropped > 0) {
    log_line(std::to_string(dropped) + " console bytes dropped: stdout was not read");
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (config_.stats) report_stats();
  return stop_.outcome();
}

void Machine::press_power_button() {
  if (platform_.events) platform_.events->notify(GenericEventDevice::kPowerButtonEvent);
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
    if (!stats_file_.fd.valid()) {
      log_line("could not write the statistics: " + stats_file_.error);
      return;
    }
    const std::string text = format_stats_json(stats);
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(stats_file_.fd.get(), text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        log_line("could not write the statistics to " + *output.json_path + ": " +
                 std::strerror(errno) + "; check that its file system has room");
        return;
      }
      done += static_cast<size_t>(n);
    }
  }
}

}  // namespace kvmm

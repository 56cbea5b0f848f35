#include "vmm/machine/machine.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "devices/debug/debug_exit.h"
#include "devices/serial/uart8250.h"
#include "devices/testdev/test_device.h"
#include "vmm/boot/flat_loader.h"
#include "vmm/util/error.h"

namespace kvmm {

namespace {

constexpr uint16_t kCom1Port = 0x3f8;

void write_stdout(uint8_t byte) {
  // Unbuffered on purpose: the console is interactive and a crash must not
  // swallow the guest's last words.
  while (::write(STDOUT_FILENO, &byte, 1) < 0 && errno == EINTR) {
  }
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

std::unique_ptr<Machine> Machine::build(const VmConfig& config) {
  // Guest memory and the image first: bad input is reported as such even on
  // a host without KVM, and before anything is created in the kernel.
  GuestMemory memory = make_guest_memory(config.memory_bytes);
  load_flat_image(memory, *config.flat_image, kFlatLoadAddress);
  write_mode_tables(memory, config.mode);

  KvmSystem kvm = KvmSystem::open();
  kvm.require_capabilities();
  KvmVm vm = kvm.create_vm();
  std::unique_ptr<Machine> machine(new Machine(std::move(kvm), std::move(vm), std::move(memory)));
  machine->register_memory();
  machine->add_devices();
  if (config.exit_log_path) machine->exit_log_ = std::make_unique<ExitLog>(*config.exit_log_path);
  machine->create_vcpus(config);
  return machine;
}

void Machine::register_memory() {
  vm_.set_identity_map_address(kIdentityMapAddress);
  vm_.set_tss_address(kTssAddress);
  uint32_t slot = 0;
  for (const GuestMemory::Region& region : memory_.regions()) {
    vm_.set_memory_slot(slot++, region.base, region.size(), region.mapping.data());
  }
}

void Machine::add_devices() {
  pio_.insert(std::make_shared<Uart8250>(write_stdout), kCom1Port, Uart8250::kRegisterCount,
              "serial COM1");
  pio_.insert(std::make_shared<DebugExit>([this](uint8_t status) {
                stop_.request_stop(RunOutcome{status, ""});
              }),
              DebugExit::kPort, 1, "debug-exit");
  auto test_device = std::make_shared<TestDevice>();
  pio_.insert(test_device, TestDevice::kPort, TestDevice::kSize, "test device");
  mmio_.insert(test_device, TestDevice::kMmioAddress, TestDevice::kSize, "test device");
}

void Machine::create_vcpus(const VmConfig& config) {
  const std::vector<uint8_t> cpuid = kvm_.supported_cpuid();
  KvmVcpu kvm_vcpu = vm_.create_vcpu(0);
  // Long mode needs CPUID's LM bit in the guest's view before EFER.LME is accepted.
  kvm_vcpu.set_cpuid(cpuid);
  kvm_sregs sregs = kvm_vcpu.sregs();
  kvm_regs regs{};
  const GuestAddress stack_top{low_ram_end(config.memory_bytes) & ~uint64_t{0xf}};
  set_entry_state(config.mode, kFlatLoadAddress, stack_top, sregs, regs);
  kvm_vcpu.set_sregs(sregs);
  kvm_vcpu.set_regs(regs);
  vcpus_.push_back(std::make_unique<Vcpu>(
      std::move(kvm_vcpu), Vcpu::Wiring{&pio_, &mmio_, &stop_, exit_log_.get()}));
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
  for (auto& vcpu : vcpus_) {
    threads.emplace_back([&vcpu] {
      const std::string name = "vcpu" + std::to_string(vcpu->index());
      pthread_setname_np(pthread_self(), name.c_str());
      vcpu->run_loop();
    });
  }

  pollfd fds[2] = {{stop_.fd(), POLLIN, 0}, {signal_fd.get(), POLLIN, 0}};
  while (!stop_.stop_requested()) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) throw_errno("poll failed");
    signalfd_siginfo info{};
    if ((fds[1].revents & POLLIN) != 0 &&
        ::read(signal_fd.get(), &info, sizeof info) == sizeof info) {
      stop_.request_stop(RunOutcome{128 + static_cast<int>(info.ssi_signo),
                                    std::string("stopped by signal ") +
                                        sigabbrev_np(static_cast<int>(info.ssi_signo))});
    }
  }

  for (auto& vcpu : vcpus_) vcpu->kick();
  for (auto& thread : threads) thread.join();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return stop_.outcome();
}

}  // namespace kvmm

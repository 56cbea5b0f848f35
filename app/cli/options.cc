#include "app/cli/options.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "app/api/run_dir.h"
#include "app/cli/device_options.h"
#include "app/cli/size.h"
#include "app/options/config_file.h"
#include "base/util/error.h"
#include "base/util/parse.h"
#include "vmm/security/jail.h"

#ifndef KVMM_VERSION
#define KVMM_VERSION "unknown"
#endif

namespace kvmm {

namespace {

uint32_t parse_cpus(std::string_view text) {
  const std::optional<uint32_t> value = parse_integer<uint32_t>(text);
  if (text.empty() || value == 0u) {
    throw Error("--cpus " + std::string(text) + " is not a number of vCPUs: give at least 1");
  }
  if (!value || *value > 1'000'000) {
    throw Error("--cpus " + std::string(text) + " is not a number of vCPUs: give e.g. --cpus 4");
  }
  return *value;
}

// "0,2,4" -> {0, 2, 4}
std::vector<int> parse_pin_list(std::string_view text) {
  std::vector<int> cpus;
  for (const std::string_view item : split(text, ',')) {
    const std::optional<uint32_t> cpu = parse_integer<uint32_t>(item);
    if (!cpu || *cpu > 999'999) {
      throw Error("--pin " + std::string(text) +
                  " is not a list of host CPUs: give one per vCPU, e.g. --pin 0,1");
    }
    cpus.push_back(static_cast<int>(*cpu));
  }
  return cpus;
}

// A whole decimal number in [min, max]; `what` names it for the error ("nanoseconds").
uint64_t parse_number(std::string_view option, std::string_view text, uint64_t min, uint64_t max,
                      std::string_view what) {
  const std::optional<uint64_t> value = parse_integer<uint64_t>(text);
  if (!value || *value < min || *value > max) {
    throw Error(std::string(option) + " " + std::string(text) + " is not a number of " +
                std::string(what) + ": give a whole number from " + std::to_string(min) +
                " to " + std::to_string(max));
  }
  return *value;
}

// Seconds with at most one decimal ("2", "0.5"), from 0.1 to `max`.
double parse_seconds_tenths(std::string_view option, std::string_view text, uint64_t max) {
  const size_t dot = text.find('.');
  const std::optional<uint64_t> whole = parse_integer<uint64_t>(text.substr(0, dot));
  std::optional<uint64_t> tenth = uint64_t{0};
  if (dot != std::string_view::npos) {
    const std::string_view fraction = text.substr(dot + 1);
    tenth = fraction.size() == 1 ? parse_integer<uint64_t>(fraction) : std::nullopt;
  }
  if (!whole || !tenth || *whole > max || (*whole == 0 && *tenth == 0) ||
      (*whole == max && *tenth != 0)) {
    throw Error(std::string(option) + " " + std::string(text) + " is not a number of seconds: "
                "give 0.1 to " + std::to_string(max) + ", with at most one decimal");
  }
  return static_cast<double>(*whole) + static_cast<double>(*tenth) / 10.0;
}

// A setter that keeps the value as it is (a path).
template <typename T>
std::function<void(std::string_view)> store(std::optional<T>& field) {
  return [&field](std::string_view value) { field = T(std::string(value)); };
}

// The host-scheduling options kvmm run and kvmm bench sched share.
void add_scheduling_options(std::vector<Option>& options, std::vector<int>& pin,
                            std::optional<VcpuSchedPolicy>& sched,
                            std::optional<uint32_t>& halt_poll_ns) {
  options.push_back({.name = "--pin", .placeholder = "LIST",
                     .help = "pin vCPU i to host CPU LIST[i], e.g. --pin 0,1",
                     .set = [&pin](std::string_view value) { pin = parse_pin_list(value); }});
  options.push_back(
      {.name = "--vcpu-sched", .placeholder = "POLICY",
       .help = "host scheduling policy of every vCPU thread: other, idle, fifo[:PRIO] or "
               "rr[:PRIO] (PRIO 1-99, default 1); fifo and rr need CAP_SYS_NICE or RLIMIT_RTPRIO",
       .completion = Completion::kWords,
       .words = {"other", "idle", "fifo", "rr"},
       .set = [&sched](std::string_view value) { sched = parse_vcpu_sched(value); }});
  options.push_back(
      {.name = "--halt-poll-ns", .placeholder = "N",
       .help = "longest a halted vCPU polls before sleeping, for this VM (KVM_CAP_HALT_POLL; "
               "0 turns polling off)",
       .set =
           [&halt_poll_ns](std::string_view value) {
             // KVM_CAP_HALT_POLL takes an unsigned int (virt/kvm/kvm_main.c).
             halt_poll_ns = static_cast<uint32_t>(
                 parse_number("--halt-poll-ns", value, 0, UINT32_MAX, "nanoseconds"));
           }});
}

struct RunState {
  RunCommand run;
  bool have_mode = false;
  bool have_cmdline = false;
  std::optional<std::filesystem::path> config_file;  // --config
};

Verb run_verb(RunState& state) {
  VmConfig& config = state.run.config;
  Verb verb{
      .name = "run",
      .usage = {"run --kernel FILE [--initrd FILE] [--cmdline STR] [--append ARGS] [OPTION]...",
                "run --flat FILE [--mode real|protected|long] [OPTION]..."},
      .summary = "run a Linux kernel or a flat binary as a guest",
      .description = "The guest's COM1 is stdin and stdout. A Linux guest: see docs/linux-guests.md; "
                     "a flat binary: see docs/flat-guests.md.",
      .options = {
          {.name = "--config", .placeholder = "FILE",
           .help = "read options from FILE, a JSON object whose keys are these options' names "
                   "without -- and whose values are what follows each (a list for --disk, --net "
                   "and --device; true for a flag), e.g. {\"kernel\": \"bzImage\", \"cpus\": 2}; "
                   "an option also on the command line replaces the file's. kvmm info NAME "
                   "--config writes one. See docs/api.md",
           .completion = Completion::kFile,
           .set =
               [&state](std::string_view path) {
                 if (path.empty()) {
                   throw UsageError("--config needs a file: give e.g. --config vm.json");
                 }
                 state.config_file = std::filesystem::path(path);
               }},
          {.name = "--kernel", .placeholder = "FILE",
           .help = "Linux bzImage (64-bit boot protocol 2.12+), or an ELF vmlinux with a PVH "
                   "entry note (entered in 32-bit protected mode)",
           .completion = Completion::kFile,
           .set = store(config.kernel)},
          {.name = "--kernel-unpack", .placeholder = "cache|memory|off",
           .help = "a bzImage's compressed kernel is decompressed by kvmm and booted through PVH "
                   "when it is a vmlinux with a PVH entry note (else the bzImage boots as it "
                   "is): cache (the default) keeps the result in $XDG_CACHE_HOME/kvmm or "
                   "~/.cache/kvmm for the next boot; memory decompresses at every boot; off "
                   "lets the guest decompress itself. --boot-trace shows what happened. See "
                   "docs/linux-guests.md",
           .completion = Completion::kWords,
           .words = {"cache", "memory", "off"},
           .set =
               [&config](std::string_view mode) {
                 if (mode == "cache") {
                   config.kernel_unpack = KernelUnpack::kCache;
                 } else if (mode == "memory") {
                   config.kernel_unpack = KernelUnpack::kMemory;
                 } else if (mode == "off") {
                   config.kernel_unpack = KernelUnpack::kOff;
                 } else {
                   throw UsageError("--kernel-unpack=" + std::string(mode) +
                                    " is not an unpack mode: use --kernel-unpack=cache, memory "
                                    "or off");
                 }
               }},
          {.name = "--initrd", .placeholder = "FILE",
           .help = "initial ramdisk, loaded high in RAM",
           .completion = Completion::kFile,
           .set = store(config.initrd)},
          {.name = "--cmdline", .placeholder = "STR",
           .help = "kernel command line, instead of the default \"console=ttyS0 panic=-1\": "
                   "without console=ttyS0 the console is silent (kvmm warns); "
                   "--append adds to the default line instead",
           .set =
               [&state](std::string_view value) {
                 state.run.config.cmdline = std::string(value);
                 state.run.config.cmdline_given = true;
                 state.have_cmdline = true;
               }},
          {.name = "--append", .placeholder = "ARGS",
           .help = "add ARGS to the end of the kernel command line, the default one or "
                   "--cmdline's, e.g. --append \"root=/dev/vda rw\" (kvmtool's -p); a "
                   "Multiboot kernel gets --cmdline, then ARGS",
           .set =
               [&state](std::string_view value) {
                 state.run.config.cmdline_append = std::string(value);
                 state.have_cmdline = true;
               }},
          {.name = "--flat", .placeholder = "FILE",
           .help = "raw binary (nasm -f bin), loaded and entered at 0x8000",
           .completion = Completion::kFile,
           .set = store(config.flat_image)},
          {.name = "--mode", .placeholder = "MODE",
           .help = "CPU mode of a --flat guest at entry (default real):\n"
                   "real: CS=DS=ES=SS=0, IP=0x8000, SP=0x8000\n"
                   "protected: flat 4 GiB 32-bit segments (CS 0x08, data 0x10), paging off\n"
                   "long: 64-bit, first 4 GiB identity-mapped with 2 MiB pages\n"
                   "protected and long: ESP/RSP at the top of RAM below 3 GiB",
           .completion = Completion::kWords,
           .words = {"real", "protected", "long"},
           .set =
               [&state](std::string_view name) {
                 state.have_mode = true;
                 const auto mode = parse_cpu_mode(name);
                 if (!mode) {
                   throw UsageError("--mode " + std::string(name) +
                                    " is not a CPU mode: use real, protected or long");
                 }
                 state.run.config.mode = *mode;
               }},
          {.name = "--mem", .placeholder = "SIZE",
           .help = "guest RAM, e.g. 64M, 2G; a bare number is MiB (default 256M)",
           .set =
               [&config](std::string_view text) {
                 config.memory_bytes = parse_memory_size(text);
                 if (config.memory_bytes < kMinMemory) {
                   throw UsageError("--mem " + std::string(text) +
                                    " is too small: kvmm needs at least 1M");
                 }
               }},
          {.name = "--cpus", .placeholder = "N",
           .help = "vCPUs, one host thread each, named vcpu0..; N may exceed the host's CPUs "
                   "(default 1). A --flat guest needs --mode protected or long for more than "
                   "one: every vCPU enters at 0x8000, vCPU i with its stack 64 KiB * i below the "
                   "first, and they tell themselves apart by APIC ID. The local APICs are KVM's, "
                   "so hlt waits for an interrupt: end such a guest through the debug exit",
           .set = [&config](std::string_view value) { config.cpus = parse_cpus(value); }},
      }};
  add_scheduling_options(verb.options, config.pin, config.vcpu_sched, config.halt_poll_ns);
  std::vector<Option> more = {
      {.name = "--disk", .placeholder = "PATH[,ro][,serial=S][,cache=none|writeback]",
       .help = "a virtio-blk disk (repeatable: /dev/vda, /dev/vdb, ...) backed by a raw image "
               "file (qcow2 is refused: qemu-img convert -O raw makes it raw) or a block device; ro shares it read-only; serial=S (up to 20 printable "
               "characters) is what the guest reads as its serial; cache=none bypasses the host "
               "page cache (O_DIRECT). The image is locked: one writer, or any number of "
               "read-only users. See docs/disks.md",
       .completion = Completion::kFile,
       .repeatable = true,
       .set = [&config](std::string_view value) { config.disks.push_back(parse_disk_options(value)); }},
      {.name = "--device", .placeholder = "NAME[,OPTIONS]",
       .help = "attach a debug device (repeatable): debug-exit, the port 0x501 whose byte "
               "ends the run with that exit status; testdev, the test device at ports "
               "0x520-0x52f and MMIO 0xd0000000 (flat guests always have both); and for "
               "guests written for QEMU (kvm-unit-tests) QEMU's "
               "isa-debug-exit[,iobase=N][,iosize=1|2|4] (a write of V ends the run with "
               "status (V << 1) | 1) and pc-testdev. Without them a kernel cannot choose "
               "kvmm's exit status",
       .completion = Completion::kWords,
       .words = {"debug-exit", "testdev", "isa-debug-exit", "pc-testdev"},
       .repeatable = true,
       .set = [&config](std::string_view value) { parse_device_option(value, config.debug_devices); }},
      {.name = "--net",
       .placeholder = "tap=NAME|fd=N|user[,mac=MAC][,...]",
       .help = "a virtio-net interface (repeatable: eth0, eth1, ...) on the TAP NAME (opened, or "
               "created with CAP_NET_ADMIN) or on an open tap fd N handed over by a parent "
               "process; mac= sets its MAC address (default 52:54:00:xx:xx:xx from kvmm's pid); "
               "offload=off turns off checksum and TSO offloads; vhost=on moves the frames in "
               "the kernel (/dev/vhost-net). A VLAN is the host's: sudo tools/kvmm-net tap NAME "
               "--vlan ID. Or user: user-mode networking (libslirp, as QEMU's -netdev user), "
               "no tap and no root: the guest's network is net=ADDR/PREFIX (default "
               "10.0.2.0/24: the host at .2, DNS at .3, DHCP from .15); "
               "hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (repeatable) "
               "forwards a host port to the guest, HOSTADDR 127.0.0.1 unless given; "
               "restrict=on lets the guest reach nothing but its forwards; dns=off answers no "
               "DNS. See docs/networking.md",
       .completion = Completion::kWords,
       .words = {"tap=", "fd=", "user"},
       .repeatable = true,
       .set =
           [&config](std::string_view value) {
             const auto index = static_cast<unsigned>(config.nets.size());
             config.nets.push_back(parse_net_options(value, index));
           }},
      {.name = "--boot-trace", .placeholder = "",
       .help = "print the boot phases with times since kvmm started",
       .value = OptionValue::kNone,
       .set = [&config](std::string_view) { config.boot_trace = true; }},
      {.name = "--exit-log", .placeholder = "FILE",
       .help = "write one line per VM exit handled by kvmm (\"-\" for stderr)",
       .completion = Completion::kFile,
       .set = store(config.exit_log_path)},
      {.name = "--stats", .placeholder = "text|json",
       .help = "at exit, print per-vCPU statistics to stderr: exits by reason, port and MMIO "
               "address, time in KVM_RUN and in kvmm's handlers, handler latency, KVM's own "
               "counters, run delay; text (a table, the default) or json. See docs/scheduling.md",
       .value = OptionValue::kOptional,
       .implicit_value = "text",
       .completion = Completion::kWords,
       .words = {"text", "json"},
       .set =
           [&config](std::string_view format) {
             if (!config.stats) config.stats.emplace();
             if (format == "text") {
               config.stats->to_stderr = StatsOutput::Format::kText;
             } else if (format == "json") {
               config.stats->to_stderr = StatsOutput::Format::kJson;
             } else {
               throw UsageError("--stats=" + std::string(format) +
                                " is not a stats format: use --stats, --stats=text or --stats=json");
             }
           }},
      {.name = "--seccomp", .placeholder = "on|log|off",
       .help = "confine each thread to the system calls its role needs (default on); log: allow "
               "and log calls outside a filter; off: no filters, dumpable (strace, gdb). "
               "See docs/security.md",
       .completion = Completion::kWords,
       .words = {"on", "log", "off"},
       .set =
           [&config](std::string_view mode) {
             if (mode == "on") {
               config.seccomp = SeccompMode::kOn;
             } else if (mode == "log") {
               config.seccomp = SeccompMode::kLog;
             } else if (mode == "off") {
               config.seccomp = SeccompMode::kOff;
             } else {
               throw UsageError("--seccomp=" + std::string(mode) +
                                " is not a seccomp mode: use --seccomp=on, log or off");
             }
           }},
      {.name = "--jail", .placeholder = "DIR[,uid=N,gid=N]",
       .help = "once every file is open and before the guest runs, chroot into DIR and become "
               "user N and group N (default: DIR's owner and group; never root) with no "
               "supplementary groups; needs root. Statistics read from /proc (guest time, run "
               "delay, last CPU) are unavailable unless DIR has a proc mount. See "
               "docs/security.md",
       .completion = Completion::kFile,
       .set = [&config](std::string_view value) { config.jail = parse_jail_option(value); }},
      {.name = "--stats-file", .placeholder = "FILE",
       .help = "write the same statistics as JSON to FILE",
       .completion = Completion::kFile,
       .set =
           [&config](std::string_view path) {
             if (path.empty()) {
               throw UsageError("--stats-file needs a file name: give e.g. --stats-file=stats.json");
             }
             if (!config.stats) config.stats.emplace();
             config.stats->json_path = std::string(path);
           }},
  };
  for (Option& option : more) verb.options.push_back(std::move(option));
  verb.options.push_back(
      {.name = "--name", .placeholder = "NAME",
       .help = "the VM's name for kvmm list, info, pause, ... (default kvmm-PID); one running VM "
               "per name",
       .set =
           [&state](std::string_view value) {
             check_vm_name(value);
             state.run.name = std::string(value);
           }});
  verb.options.push_back(
      {.name = "--api-socket", .placeholder = "PATH|none",
       .help = "where the VM's API listens (default RUNDIR/NAME.sock: RUNDIR is /run/kvmm for "
               "root, else $XDG_RUNTIME_DIR/kvmm); none: no API (docs/api.md)",
       .completion = Completion::kFile,
       .set =
           [&state](std::string_view value) {
             if (value.empty()) {
               throw UsageError("--api-socket needs a path, or none to run without an API");
             }
             state.run.api_socket = std::string(value);
           }});
  verb.options.push_back(
      {.name = "--serial", .placeholder = "BACKEND",
       .help = "where COM1 goes: stdio (default), file=PATH (output appended), pty (a new "
               "pseudo-terminal, its path printed), socket (kvmm console NAME attaches; the "
               "default with --detach) or off",
       .completion = Completion::kWords,
       .words = {"stdio", "file=", "pty", "socket", "off"},
       .set = [&state](std::string_view value) { state.run.serial = parse_serial_option(value); }});
  verb.options.push_back(
      {.name = "--console-log", .placeholder = "FILE",
       .help = "with --serial socket: also append the guest's console output to FILE",
       .completion = Completion::kFile,
       .set =
           [&state](std::string_view value) {
             if (value.empty()) throw UsageError("--console-log needs a file name");
             state.run.console_log = std::string(value);
           }});
  verb.options.push_back(
      {.name = "--detach", .placeholder = "",
       .help = "return once the guest runs, printing its name; the console is then the "
               "socket backend (kvmm console NAME), kvmm's messages go to RUNDIR/NAME.log",
       .value = OptionValue::kNone,
       .set = [&state](std::string_view) { state.run.detach = true; }});
  verb.sections = {
      {"Console",
       "The guest's COM1 is stdin/stdout; on a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A sends "
       "Ctrl-A. The guest's poweroff and reboot end kvmm with status 0."},
      {"Devices",
       "COM1 serial at port 0x3f8 (to stdout); for flat guests (a Linux guest with "
       "--device) debug exit at port 0x501 (a byte written there ends the run with that exit "
       "status) and a test device (16 scratch bytes) at ports 0x520-0x52f and MMIO "
       "0xd0000000-0xd000000f; virtio-mmio devices at 0xd1000000 + "
       "0x1000*i with IRQs 5, 6, 7, 9, 10, ..., described in the ACPI DSDT (and on the command "
       "line with acpi=off)."},
  };
  return verb;
}

void check_run(const RunState& state) {
  const VmConfig& config = state.run.config;
  if (config.flat_image && config.kernel) {
    throw UsageError("--flat and --kernel both given: run either a flat binary or a kernel");
  }
  if (!config.flat_image && !config.kernel) {
    throw UsageError("kvmm run needs a guest: give --kernel FILE or --flat FILE (see kvmm run --help)");
  }
  if (config.flat_image) {
    if (config.initrd || state.have_cmdline) {
      throw UsageError("--initrd, --cmdline and --append need --kernel: a flat binary takes "
                       "none of them");
    }
    if (config.cpus != 1 && config.mode == CpuMode::kReal) {
      throw UsageError("--cpus " + std::to_string(config.cpus) + " with --flat needs --mode long or "
                       "protected: real-mode flat guests run on one vCPU");
    }
  } else if (state.have_mode) {
    throw UsageError("--mode is for --flat guests: a kernel chooses its own entry mode");
  }
  if (config.pin.size() > config.cpus) {
    throw UsageError("--pin lists " + std::to_string(config.pin.size()) + " host CPUs for " +
                     std::to_string(config.cpus) + " vCPUs: give at most one per vCPU");
  }
  const RunCommand& run = state.run;
  if (run.detach && run.api_socket == "none") {
    throw UsageError("--detach needs the API (kvmm list, console, destroy manage a detached VM): "
                     "drop --api-socket none");
  }
  const auto serial = run.serial.value_or(SerialOption{});
  if (run.detach && run.serial && serial.kind == SerialOption::Kind::kStdio) {
    throw UsageError("a detached VM has no terminal: use --serial socket (the default with "
                     "--detach), file=PATH, pty or off");
  }
  const bool socket = run.serial ? serial.kind == SerialOption::Kind::kSocket : run.detach;
  if (socket && run.api_socket == "none") {
    throw UsageError("--serial socket listens beside the API socket: drop --api-socket none");
  }
  if (run.console_log && !socket) {
    throw UsageError("--console-log is for --serial socket (and --detach): with another "
                     "backend, log with --serial file=PATH");
  }
}

Verb check_verb(CheckCommand& check) {
  return Verb{
      .name = "check",
      .usage = {"check [--quiet | --json] [--linux]"},
      .summary = "report whether this host can run guests",
      .description = "Checks CPU flags, /dev/kvm access, the API version, capabilities and vCPU "
                     "limits, and runs a tiny guest; then what --net and --disk use "
                     "(/dev/net/tun, /dev/vhost-net, io_uring) and the transparent huge page "
                     "policy, which only warn. The exit status is 0 when guests can run.",
      .options = {
          {.name = "--quiet", .placeholder = "", .help = "print nothing; only the exit status tells",
           .value = OptionValue::kNone,
           .set = [&check](std::string_view) { check.quiet = true; }},
          {.name = "--json", .placeholder = "",
           .help = "print the checks as one JSON object: {\"ok\": BOOL, \"checks\": [{\"name\", "
                   "\"status\" (pass, warn, fail or info), \"message\"}, ...]}",
           .value = OptionValue::kNone,
           .set = [&check](std::string_view) { check.json = true; }},
          {.name = "--linux", .placeholder = "",
           .help = "also fail on a KVM that cannot boot stock Linux kernels (the paravirtual "
                   "kvm_pvm)",
           .value = OptionValue::kNone,
           .set = [&check](std::string_view) { check.need_linux = true; }},
      }};
}

struct SchedState {
  BenchSchedCommand bench;
  bool have_iterations = false;
};

Verb bench_sched_verb(SchedState& state) {
  SchedBenchConfig& config = state.bench.config;
  Verb verb{
      .name = "bench sched",
      .usage = {"bench sched [--workload ipi|spin-wait|spin] [--cpus N] [OPTION]..."},
      .summary = "measure how the host schedules vCPU threads",
      .description =
          "An SMP guest measures vCPU scheduling by the host (see docs/scheduling.md). Prints "
          "round-trip percentiles in TSC cycles and ns, each vCPU's count (spin), and each vCPU "
          "thread's run delay (time runnable, waiting for a host CPU, from "
          "/proc/self/task/TID/schedstat).",
      .options = {
          {.name = "--workload", .placeholder = "W",
           .help = "ipi: vCPU 0 and vCPU k pass a token through memory and wake each other with "
                   "IPIs, waiting in hlt (default); spin-wait: the same, spinning instead; spin: "
                   "every vCPU counts for --duration-ms, showing how fairly they ran",
           .completion = Completion::kWords,
           .words = {"ipi", "spin-wait", "spin"},
           .set =
               [&config](std::string_view name) {
                 const auto workload = parse_sched_workload(name);
                 if (!workload) {
                   throw UsageError("--workload " + std::string(name) +
                                    " is not a scheduling workload: use ipi, spin-wait or spin");
                 }
                 config.workload = *workload;
               }},
          {.name = "--cpus", .placeholder = "N",
           .help = "vCPUs (default 2); more than the host's CPUs is overcommit",
           .set = [&config](std::string_view value) { config.cpus = parse_cpus(value); }},
          {.name = "--ipi", .placeholder = "MECH",
           .help = "x2apic: IPIs through the x2APIC ICR MSR (default; xapic where the CPU has no "
                   "x2APIC); xapic: through the xAPIC MMIO page",
           .completion = Completion::kWords,
           .words = {"x2apic", "xapic"},
           .set =
               [&config](std::string_view name) {
                 if (name == "x2apic") {
                   config.ipi = SchedBenchConfig::Ipi::kX2apic;
                 } else if (name == "xapic") {
                   config.ipi = SchedBenchConfig::Ipi::kXapic;
                 } else {
                   throw UsageError("--ipi " + std::string(name) +
                                    " is not an IPI mechanism: use x2apic or xapic");
                 }
               }},
          {.name = "--iterations", .placeholder = "N",
           .help = "measured round trips (default 10000; ipi and spin-wait)",
           .set =
               [&state](std::string_view value) {
                 state.bench.config.iterations = static_cast<uint32_t>(parse_number(
                     "--iterations", value, 1, SchedBenchConfig::kMaxIterations, "round trips"));
                 state.have_iterations = true;
               }},
          {.name = "--warmup", .placeholder = "N",
           .help = "unmeasured round trips before them (default 100)",
           .set =
               [&config](std::string_view value) {
                 config.warmup = static_cast<uint32_t>(parse_number(
                     "--warmup", value, 0, SchedBenchConfig::kMaxIterations, "round trips"));
               }},
          {.name = "--duration-ms", .placeholder = "N",
           .help = "how long the spin workload runs (default 200)",
           .set =
               [&config](std::string_view value) {
                 config.duration_ms = static_cast<uint32_t>(
                     parse_number("--duration-ms", value, 1, 60000, "milliseconds"));
               }},
          {.name = "--json", .placeholder = "FILE", .help = "also write the results as JSON",
           .completion = Completion::kFile,
           .set =
               [&config](std::string_view path) {
                 if (path.empty()) {
                   throw UsageError("--json needs a file name: give e.g. --json sched.json");
                 }
                 config.json_path = std::string(path);
               }},
      }};
  add_scheduling_options(verb.options, config.pin, config.vcpu_sched, config.halt_poll_ns);
  return verb;
}

void check_bench_sched(const SchedState& state) {
  const SchedBenchConfig& config = state.bench.config;
  if (config.cpus > SchedBenchConfig::kMaxCpus) {
    throw UsageError("--cpus " + std::to_string(config.cpus) +
                     " is more than kvmm bench sched runs (" +
                     std::to_string(SchedBenchConfig::kMaxCpus) + "): use fewer vCPUs");
  }
  if (config.workload != SchedBenchConfig::Workload::kSpin && config.cpus < 2) {
    throw UsageError("--workload " + sched_workload_name(config.workload) +
                     " needs --cpus 2 or more: a round trip needs a partner vCPU");
  }
  if (config.workload == SchedBenchConfig::Workload::kSpin && state.have_iterations) {
    throw UsageError("--iterations is for --workload ipi and spin-wait: spin runs for --duration-ms");
  }
  if (config.pin.size() > config.cpus) {
    throw UsageError("--pin lists " + std::to_string(config.pin.size()) + " host CPUs for " +
                     std::to_string(config.cpus) + " vCPUs: give at most one per vCPU");
  }
}


constexpr ManageCommand::Action kManageActions[] = {
    ManageCommand::Action::kList,     ManageCommand::Action::kInfo,
    ManageCommand::Action::kPause,    ManageCommand::Action::kResume,
    ManageCommand::Action::kShutdown, ManageCommand::Action::kDestroy,
    ManageCommand::Action::kStats,    ManageCommand::Action::kConsole};

std::string_view manage_verb_name(ManageCommand::Action action) {
  switch (action) {
    case ManageCommand::Action::kList: return "list";
    case ManageCommand::Action::kInfo: return "info";
    case ManageCommand::Action::kPause: return "pause";
    case ManageCommand::Action::kResume: return "resume";
    case ManageCommand::Action::kShutdown: return "shutdown";
    case ManageCommand::Action::kDestroy: return "destroy";
    case ManageCommand::Action::kStats: return "stats";
    case ManageCommand::Action::kConsole: return "console";
  }
  return "";
}

// The verbs that manage a running VM through its API (app/cli/vm_commands.h).
Verb manage_verb(ManageCommand& command, ManageCommand::Action action) {
  const auto name_operand = [&command](std::string_view value) {
    check_vm_name(value);
    command.name = std::string(value);
  };
  const Option json{.name = "--json", .placeholder = "",
                    .help = "print JSON (the API's own body) instead of a table",
                    .value = OptionValue::kNone,
                    .set = [&command](std::string_view) { command.json = true; }};
  Verb verb;
  switch (action) {
    case ManageCommand::Action::kList:
      verb = {.name = "list", .usage = {"list [--json]"},
              .summary = "list the running VMs (virsh list)",
              .description = "One line per VM whose API socket is in RUNDIR: NAME PID STATE VCPUS "
                             "MEMORY UPTIME.",
              .options = {json}};
      break;
    case ManageCommand::Action::kInfo:
      verb = {.name = "info", .usage = {"info NAME [--json | --config]"},
              .summary = "show a VM's state, configuration and vCPU threads (virsh dominfo)",
              .description = "Each vCPU's host thread id (as in /proc/PID/task), the host CPU it "
                             "last ran on, its affinity and scheduling policy.",
              .options = {json,
                          {.name = "--config", .placeholder = "",
                           .help = "print only the VM's config, as JSON that kvmm run --config "
                                   "FILE reads to start the same VM",
                           .value = OptionValue::kNone,
                           .set = [&command](std::string_view) { command.config = true; }}}};
      break;
    case ManageCommand::Action::kPause:
      verb = {.name = "pause", .usage = {"pause NAME"},
              .summary = "pause a VM: every vCPU parked, devices quiet (virsh suspend)",
              .description = "Returns once no vCPU runs guest code and no device writes guest "
                             "memory or a disk image.",
              .options = {}};
      break;
    case ManageCommand::Action::kResume:
      verb = {.name = "resume", .usage = {"resume NAME"},
              .summary = "resume a paused VM (virsh resume)", .description = "",
              .options = {}};
      break;
    case ManageCommand::Action::kShutdown:
      verb = {.name = "shutdown", .usage = {"shutdown NAME [--timeout S]"},
              .summary = "press the VM's power button; destroy it if it is still up after the "
                         "timeout (virsh shutdown)",
              .description = "Says which happened: the guest shut down, or it was destroyed.",
              .options = {{.name = "--timeout", .placeholder = "S",
                           .help = "seconds to wait for the guest before destroying it "
                                   "(default 30)",
                           .set = [&command](std::string_view value) {
                             command.timeout_s = static_cast<uint32_t>(
                                 parse_number("--timeout", value, 1, 86400, "seconds"));
                           }}}};
      break;
    case ManageCommand::Action::kDestroy:
      verb = {.name = "destroy", .usage = {"destroy NAME"},
              .summary = "end a VM at once (virsh destroy)",
              .description = "Disk writes the guest was told had completed are in the image "
                             "before kvmm ends.",
              .options = {}};
      break;
    case ManageCommand::Action::kStats:
      verb = {.name = "stats", .usage = {"stats NAME [--watch S [--count N]] [--json]"},
              .summary = "per-vCPU statistics of a running VM (virsh domstats, kvm_stat)",
              .description = "Without --watch: the totals so far. With --watch: every S seconds, "
                             "the rates over the last S seconds: exits by reason, time in guest, "
                             "run delay.",
              .options = {json,
                          {.name = "--watch", .placeholder = "S",
                           .help = "print rates every S seconds (0.1-3600) until the VM ends or "
                                   "Ctrl-C",
                           .set = [&command](std::string_view value) {
                             command.watch_s = parse_seconds_tenths("--watch", value, 3600);
                           }},
                          {.name = "--count", .placeholder = "N",
                           .help = "with --watch: stop after N samples",
                           .set = [&command](std::string_view value) {
                             command.count = static_cast<uint32_t>(
                                 parse_number("--count", value, 1, 1000000, "samples"));
                           }}}};
      break;
    case ManageCommand::Action::kConsole:
      verb = {.name = "console", .usage = {"console NAME"},
              .summary = "attach to the serial console of a VM run with --serial socket or "
                         "--detach (virsh console)",
              .description = "Shows what the guest wrote while no one was attached (the last "
                             "64 KiB), then the live console; Ctrl-] detaches and the VM runs on.",
              .options = {}};
      break;
  }
  verb.name = manage_verb_name(action);
  if (action != ManageCommand::Action::kList) {
    verb.operand = "NAME";
    verb.set_operand = name_operand;
  }
  command.action = action;
  return verb;
}

// What the options before a verb ask for.
struct TopState {
  bool version = false;
  bool man = false;
  bool completion = false;
};

Verb top_verb(TopState& state) {
  return Verb{
      .name = "",
      .usage = {"--help | --version | --man | --completion bash"},
      .summary = "",
      .description = "",
      .options = {
          {.name = "--version", .placeholder = "", .help = "print kvmm's version and exit",
           .value = OptionValue::kNone,
           .set = [&state](std::string_view) { state.version = true; }},
          {.name = "--man", .placeholder = "",
           .help = "print this manual page in roff (the build installs it as kvmm.1)",
           .value = OptionValue::kNone,
           .set = [&state](std::string_view) { state.man = true; }},
          {.name = "--completion", .placeholder = "SHELL",
           .help = "print the completion script for SHELL (bash; the build installs it)",
           .completion = Completion::kWords,
           .words = {"bash"},
           .set =
               [&state](std::string_view shell) {
                 if (shell != "bash") {
                   throw UsageError("--completion " + std::string(shell) +
                                    " is not a shell kvmm completes: use --completion bash");
                 }
                 state.completion = true;
               }},
      }};
}

Program make_program(RunState& run, CheckCommand& check, SchedState& sched,
                     ExitBenchOptions& exits, TopState& top, ManageCommand& manage) {
  std::vector<Verb> verbs = {run_verb(run)};
  for (ManageCommand::Action action : kManageActions) verbs.push_back(manage_verb(manage, action));
  for (Verb& verb : std::vector<Verb>{check_verb(check), bench_exits_verb(exits),
                                      bench_sched_verb(sched)}) {
    verbs.push_back(std::move(verb));
  }
  return Program{
      .name = "kvmm",
      .summary = "a minimal hypervisor on Linux KVM",
      .description = "kvmm runs a Linux kernel or a flat binary in a virtual machine on /dev/kvm, "
                     "checks whether a host can, and measures VM exits and vCPU scheduling.",
      .top = top_verb(top),
      .verbs = std::move(verbs),
      .exit_statuses = {
          {"0", "success; for run, the guest powered off, rebooted or (a flat guest) halted"},
          {"1", "kvmm could not do it: a host or setup failure (a missing file, no KVM, a "
                "refused capability or permission)"},
          {"2", "usage error: an unknown option, a bad value or a missing required option"},
          {"3", "the Linux guest panicked", {"run"}},
          {"4", "the guest crashed: a triple fault, a failed VM entry or a KVM internal error",
           {"run"}},
          {"N", "a flat guest ended the run by writing the byte N to the debug-exit port 0x501",
           {"run"}},
          {"128+N", "kvmm was stopped by signal N", {"run", "bench exits", "bench sched"}},
      },
      .environment = {
          {"KVMM_KVM_DEVICE", "path of the KVM device (default /dev/kvm)"},
          {"KVMM_RUN_DIR",
           "the directory of the VMs' API sockets (default /run/kvmm for root, else "
           "$XDG_RUNTIME_DIR/kvmm)",
           {"run", "list", "info", "pause", "resume", "shutdown", "destroy", "stats"}},
          {"KVMM_GUEST_DIR",
           "where kvmm bench finds its guests (default: guest/ next to kvmm, then "
           "../lib/kvmm/guest from it, then the directory kvmm was installed to)",
           {"bench exits", "bench sched"}},
          {"KVMM_BENCH_PROGRESS",
           "1: a line on stderr as each kind ends; 0: none (default: only when stderr is a "
           "terminal); stdout holds the report either way",
           {"bench exits"}},
          {"KVMM_BLOCK_IO",
           "thread or io_uring: the disk I/O engine of --disk (default io_uring, worker threads "
           "where io_uring is unavailable)",
           {"run"}},
          {"KVMM_TEST_IO_THREAD_FAULT",
           "virtio-blk0, virtio-net0, ...: the first I/O thread of that name throws as it "
           "starts, to show that the device stops and asks for a reset while kvmm runs on "
           "(docs/security.md)",
           {"run"}},
          {"KVMM_TEST_SECCOMP_VIOLATION",
           "main, vcpu, virtio-blk, blk-worker, virtio-net, vhost-net, slirp or launcher: that "
           "thread makes a call outside its seccomp filter right after loading it, to show what a "
           "violation looks like (docs/security.md)",
           {"run"}},
      },
  };
}

}  // namespace

const Program& kvmm_program() {
  static RunState run;
  static CheckCommand check;
  static SchedState sched;
  static ExitBenchOptions exits;
  static TopState top;
  static ManageCommand manage;
  static const Program program = make_program(run, check, sched, exits, top, manage);
  return program;
}

std::string usage_text() { return format_program_help(kvmm_program()); }

namespace {

const Verb& verb_named(std::string_view name) {
  const Program& program = kvmm_program();
  return *std::find_if(program.verbs.begin(), program.verbs.end(),
                       [&](const Verb& verb) { return verb.name == name; });
}

std::string verb_help(std::string_view name) {
  return format_verb_help(kvmm_program(), verb_named(name));
}

// "unknown command 'lsit': did you mean list? see kvmm --help": virsh's
// names for kvmm's verbs (the README's table), then typos of a verb.
[[noreturn]] void unknown_command(std::string_view command) {
  static constexpr std::pair<std::string_view, std::string_view> kVirshNames[] = {
      {"start", "run"},     {"create", "run"},      {"dominfo", "info"}, {"suspend", "pause"},
      {"domstats", "stats"}, {"kvm_stat", "stats"}, {"validate", "check"},
      {"virt-host-validate", "check"}};
  std::string_view meant;
  for (const auto& [virsh, verb] : kVirshNames) {
    if (command == virsh) meant = verb;
  }
  if (meant.empty()) {
    std::vector<std::string_view> verbs = {"bench"};
    for (const Verb& verb : kvmm_program().verbs) {
      if (verb.name.find(' ') == std::string_view::npos) verbs.push_back(verb.name);
    }
    meant = closest_word(command, verbs);
  }
  const std::string guess = meant.empty() ? "" : "did you mean " + std::string(meant) + "? ";
  throw UsageError("unknown command '" + std::string(command) + "': " + guess + "see kvmm --help");
}

Command parse(std::span<const std::string_view> args) {
  if (args.empty()) throw UsageError("kvmm needs a command: see kvmm --help");
  const std::string_view command = args[0];
  const auto rest = args.subspan(1);
  const Program& program = kvmm_program();
  if (command == "-h" || command == "help") return HelpCommand{usage_text()};
  if (command == "-V" || command == "version") return VersionCommand{};
  if (command.starts_with("--")) {
    TopState top;
    const Verb verb = top_verb(top);
    const std::string_view name = command.substr(0, command.find('='));
    const bool known = name == "--help" ||
                       std::any_of(verb.options.begin(), verb.options.end(),
                                   [&](const Option& option) { return option.name == name; });
    if (!known) throw UsageError("unknown command '" + std::string(command) + "': see kvmm --help");
    if (parse_options(verb, args) == ParseResult::kHelp) return HelpCommand{usage_text()};
    if (top.version) return VersionCommand{};
    if (top.man) return HelpCommand{format_man_page(program, KVMM_VERSION)};
    return HelpCommand{format_bash_completion(program)};
  }
  if (command == "run") {
    RunState state;
    GivenOptions given;
    Verb verb = run_verb(state);
    record_given_options(verb, given);
    if (parse_options(verb, rest) == ParseResult::kHelp) return HelpCommand{verb_help("run")};
    if (!state.config_file) {
      check_run(state);
      return std::move(state.run);
    }
    // The file first, then the command line again over it: an option given
    // on both takes the command line's value (apply_config_file skips it).
    RunState merged;
    const Verb merged_verb = run_verb(merged);
    apply_config_file(merged_verb, *state.config_file, given, "--config");
    (void)parse_options(merged_verb, rest);
    check_run(merged);
    return std::move(merged.run);
  }
  for (ManageCommand::Action action : kManageActions) {
    if (command != manage_verb_name(action)) continue;
    ManageCommand manage;
    if (parse_options(manage_verb(manage, action), rest) == ParseResult::kHelp) {
      return HelpCommand{verb_help(command)};
    }
    if (manage.json && manage.config) {
      throw UsageError("--json and --config both given: --json prints all of vm.info, --config "
                       "only its config; give one");
    }
    if (manage.count && !manage.watch_s) {
      throw UsageError("--count is for --watch: give --watch S --count N");
    }
    return manage;
  }
  if (command == "check") {
    CheckCommand check;
    if (parse_options(check_verb(check), rest) == ParseResult::kHelp) {
      return HelpCommand{verb_help("check")};
    }
    if (check.quiet && check.json) {
      throw UsageError("--quiet and --json both given: --quiet prints nothing, --json the "
                       "checks; give one");
    }
    return check;
  }
  if (command != "bench") unknown_command(command);
  if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
    return HelpCommand{verb_help("bench exits") + "\n" + verb_help("bench sched")};
  }
  if (rest.empty() || rest[0].starts_with("-")) {
    throw UsageError("kvmm bench needs a benchmark name: kvmm bench exits or kvmm bench sched "
                     "(see kvmm bench --help)");
  }
  if (rest[0] == "exits") {
    ExitBenchOptions options;
    if (parse_options(bench_exits_verb(options), rest.subspan(1)) == ParseResult::kHelp) {
      return HelpCommand{verb_help("bench exits")};
    }
    return BenchCommand{std::move(options)};
  }
  if (rest[0] == "sched") {
    SchedState state;
    if (parse_options(bench_sched_verb(state), rest.subspan(1)) == ParseResult::kHelp) {
      return HelpCommand{verb_help("bench sched")};
    }
    check_bench_sched(state);
    return std::move(state.bench);
  }
  throw UsageError("unknown benchmark '" + std::string(rest[0]) +
                   "': use kvmm bench exits or kvmm bench sched");
}

}  // namespace

Command parse_command_line(std::span<const std::string_view> args) {
  try {
    return parse(args);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());  // Every refusal of the command line is a usage error.
  }
}

}  // namespace kvmm

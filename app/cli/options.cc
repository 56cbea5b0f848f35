#include "app/cli/options.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "app/cli/size.h"
#include "app/options/arg_reader.h"
#include "base/util/error.h"
#include "devices/virtio/block/disk_options.h"
#include "devices/virtio/net/net_options.h"

namespace kvmm {

namespace {

uint32_t parse_cpus(std::string_view text) {
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || value > 100000) {
      throw Error("--cpus " + std::string(text) + " is not a number of vCPUs: give e.g. --cpus 4");
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (text.empty() || value == 0) {
    throw Error("--cpus " + std::string(text) + " is not a number of vCPUs: give at least 1");
  }
  return value;
}

// "0,2,4" -> {0, 2, 4}
std::vector<int> parse_pin_list(std::string_view text) {
  std::vector<int> cpus;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    int value = 0;
    bool ok = !item.empty() && item.size() <= 6;
    for (char c : item) ok = ok && c >= '0' && c <= '9';
    if (!ok) {
      throw Error("--pin " + std::string(text) +
                  " is not a list of host CPUs: give one per vCPU, e.g. --pin 0,1");
    }
    for (char c : item) value = value * 10 + (c - '0');
    cpus.push_back(value);
    start = comma + 1;
  }
  return cpus;
}

// A whole decimal number in [min, max]; `what` names it for the error ("nanoseconds").
uint64_t parse_number(std::string_view option, std::string_view text, uint64_t min, uint64_t max,
                      std::string_view what) {
  uint64_t value = 0;
  bool ok = !text.empty() && text.size() <= 20;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '9' && value <= (UINT64_MAX - 9) / 10;
    if (ok) value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || value < min || value > max) {
    throw Error(std::string(option) + " " + std::string(text) + " is not a number of " +
                std::string(what) + ": give a whole number from " + std::to_string(min) +
                " to " + std::to_string(max));
  }
  return value;
}

// KVM_CAP_HALT_POLL takes an unsigned int (virt/kvm/kvm_main.c).
uint32_t parse_halt_poll_ns(std::string_view option, std::string_view text) {
  return static_cast<uint32_t>(parse_number(option, text, 0, UINT32_MAX, "nanoseconds"));
}

RunCommand parse_run(std::span<const std::string_view> args) {
  RunCommand run;
  bool have_mode = false;
  bool have_cmdline = false;
  ArgReader reader("run", args);
  while (!reader.done()) {
    const std::string_view option = reader.next_option();
    if (option == "--flat") {
      run.config.flat_image = std::string(reader.value(option));
    } else if (option == "--kernel") {
      run.config.kernel = std::string(reader.value(option));
    } else if (option == "--initrd") {
      run.config.initrd = std::string(reader.value(option));
    } else if (option == "--cmdline") {
      run.config.cmdline = std::string(reader.value(option));
      have_cmdline = true;
    } else if (option == "--cpus") {
      run.config.cpus = parse_cpus(reader.value(option));
    } else if (option == "--pin") {
      run.config.pin = parse_pin_list(reader.value(option));
    } else if (option == "--vcpu-sched") {
      run.config.vcpu_sched = parse_vcpu_sched(reader.value(option));
    } else if (option == "--halt-poll-ns") {
      run.config.halt_poll_ns = parse_halt_poll_ns(option, reader.value(option));
    } else if (option == "--disk") {
      run.config.disks.push_back(parse_disk_options(reader.value(option)));
    } else if (option == "--net") {
      const auto index = static_cast<unsigned>(run.config.nets.size());
      run.config.nets.push_back(parse_net_options(reader.value(option), index));
    } else if (option == "--boot-trace") {
      reader.no_value(option);
      run.config.boot_trace = true;
    } else if (option == "--mode") {
      have_mode = true;
      const std::string_view name = reader.value(option);
      auto mode = parse_cpu_mode(name);
      if (!mode) {
        throw Error("--mode " + std::string(name) + " is not a CPU mode: use real, protected or long");
      }
      run.config.mode = *mode;
    } else if (option == "--mem") {
      const std::string_view text = reader.value(option);
      run.config.memory_bytes = parse_memory_size(text);
      if (run.config.memory_bytes < kMinMemory) {
        throw Error("--mem " + std::string(text) + " is too small: kvmm needs at least 1M");
      }
    } else if (option == "--exit-log") {
      run.config.exit_log_path = std::string(reader.value(option));
    } else if (option == "--stats") {
      const std::string_view format = reader.optional_value().value_or("text");
      if (!run.config.stats) run.config.stats.emplace();
      if (format == "text") {
        run.config.stats->to_stderr = StatsOutput::Format::kText;
      } else if (format == "json") {
        run.config.stats->to_stderr = StatsOutput::Format::kJson;
      } else {
        throw Error("--stats=" + std::string(format) + " is not a stats format: use --stats, "
                    "--stats=text or --stats=json");
      }
    } else if (option == "--stats-file") {
      const std::string_view path = reader.value(option);
      if (path.empty()) {
        throw Error("--stats-file needs a file name: give e.g. --stats-file=stats.json");
      }
      if (!run.config.stats) run.config.stats.emplace();
      run.config.stats->json_path = std::string(path);
    } else {
      reader.unknown(option);
    }
  }
  const RunCommand& r = run;
  if (r.config.flat_image && r.config.kernel) {
    throw Error("--flat and --kernel both given: run either a flat binary or a kernel");
  }
  if (!r.config.flat_image && !r.config.kernel) {
    throw Error("kvmm run needs a guest: give --kernel FILE or --flat FILE (see kvmm --help)");
  }
  if (r.config.flat_image) {
    if (r.config.initrd || have_cmdline) {
      throw Error("--initrd and --cmdline need --kernel: a flat binary takes neither");
    }
    if (r.config.cpus != 1 && r.config.mode == CpuMode::kReal) {
      throw Error("--cpus " + std::to_string(r.config.cpus) + " with --flat needs --mode long or "
                  "protected: real-mode flat guests run on one vCPU");
    }
  } else if (have_mode) {
    throw Error("--mode is for --flat guests: a kernel chooses its own entry mode");
  }
  if (r.config.pin.size() > r.config.cpus) {
    throw Error("--pin lists " + std::to_string(r.config.pin.size()) + " host CPUs for " +
                std::to_string(r.config.cpus) + " vCPUs: give at most one per vCPU");
  }
  return run;
}

CheckCommand parse_check(std::span<const std::string_view> args) {
  CheckCommand check;
  ArgReader reader("check", args);
  while (!reader.done()) {
    const std::string_view option = reader.next_option();
    if (option == "--quiet") {
      reader.no_value(option);
      check.quiet = true;
    } else if (option == "--linux") {
      reader.no_value(option);
      check.need_linux = true;
    } else {
      reader.unknown(option);
    }
  }
  return check;
}

// kvmm bench sched [options]
BenchSchedCommand parse_bench_sched_options(std::span<const std::string_view> args) {
  BenchSchedCommand bench;
  SchedBenchConfig& config = bench.config;
  bool have_iterations = false;
  ArgReader reader("bench sched", args);
  while (!reader.done()) {
    const std::string_view option = reader.next_option();
    if (option == "--cpus") {
      config.cpus = parse_cpus(reader.value(option));
    } else if (option == "--pin") {
      config.pin = parse_pin_list(reader.value(option));
    } else if (option == "--vcpu-sched") {
      config.vcpu_sched = parse_vcpu_sched(reader.value(option));
    } else if (option == "--halt-poll-ns") {
      config.halt_poll_ns = parse_halt_poll_ns(option, reader.value(option));
    } else if (option == "--workload") {
      const std::string_view name = reader.value(option);
      auto workload = parse_sched_workload(name);
      if (!workload) {
        throw Error("--workload " + std::string(name) +
                    " is not a scheduling workload: use ipi, spin-wait or spin");
      }
      config.workload = *workload;
    } else if (option == "--ipi") {
      const std::string_view name = reader.value(option);
      if (name == "x2apic") {
        config.ipi = SchedBenchConfig::Ipi::kX2apic;
      } else if (name == "xapic") {
        config.ipi = SchedBenchConfig::Ipi::kXapic;
      } else {
        throw Error("--ipi " + std::string(name) + " is not an IPI mechanism: use x2apic or xapic");
      }
    } else if (option == "--iterations") {
      config.iterations = static_cast<uint32_t>(parse_number(
          option, reader.value(option), 1, SchedBenchConfig::kMaxIterations, "round trips"));
      have_iterations = true;
    } else if (option == "--warmup") {
      config.warmup = static_cast<uint32_t>(parse_number(
          option, reader.value(option), 0, SchedBenchConfig::kMaxIterations, "round trips"));
    } else if (option == "--duration-ms") {
      config.duration_ms = static_cast<uint32_t>(
          parse_number(option, reader.value(option), 1, 60000, "milliseconds"));
    } else if (option == "--json") {
      const std::string_view path = reader.value(option);
      if (path.empty()) throw Error("--json needs a file name: give e.g. --json sched.json");
      config.json_path = std::string(path);
    } else {
      reader.unknown(option);
    }
  }
  if (config.cpus > SchedBenchConfig::kMaxCpus) {
    throw Error("--cpus " + std::to_string(config.cpus) + " is more than kvmm bench sched runs (" +
                std::to_string(SchedBenchConfig::kMaxCpus) + "): use fewer vCPUs");
  }
  if (config.workload != SchedBenchConfig::Workload::kSpin && config.cpus < 2) {
    throw Error("--workload " + sched_workload_name(config.workload) +
                " needs --cpus 2 or more: a round trip needs a partner vCPU");
  }
  if (config.workload == SchedBenchConfig::Workload::kSpin && have_iterations) {
    throw Error("--iterations is for --workload ipi and spin-wait: spin runs for --duration-ms");
  }
  if (config.pin.size() > config.cpus) {
    throw Error("--pin lists " + std::to_string(config.pin.size()) + " host CPUs for " +
                std::to_string(config.cpus) + " vCPUs: give at most one per vCPU");
  }
  return bench;
}

}  // namespace

Command parse_command_line(std::span<const std::string_view> args) {
  if (args.empty()) throw Error("kvmm needs a command: see kvmm --help");
  const std::string_view command = args[0];
  const auto rest = args.subspan(1);
  if (command == "--help" || command == "-h" || command == "help") return HelpCommand{};
  if (command == "--version" || command == "-V" || command == "version") return VersionCommand{};
  if (command == "run") return parse_run(rest);
  if (command == "check") return parse_check(rest);
  if (command == "bench" && !rest.empty() && rest[0] == "sched") {
    return parse_bench_sched_options(rest.subspan(1));
  }
  if (command == "bench") return parse_bench_command(rest);
  throw Error("unknown command '" + std::string(command) + "': see kvmm --help");
}

std::string usage_text() {
  return R"(kvmm — a minimal hypervisor on Linux KVM

Usage:
  kvmm run --kernel FILE [--initrd FILE] [--cmdline STR] [--mem SIZE] [--cpus N]
           [--pin CPU,...] [--vcpu-sched POLICY] [--halt-poll-ns N]
           [--disk PATH[,OPT...]]... [--net tap=NAME|fd=N[,OPT...]]...
           [--boot-trace] [--exit-log FILE]
           [--stats[=text|json]] [--stats-file=FILE]
  kvmm run --flat FILE [--mode real|protected|long] [--mem SIZE] [--cpus N]
           [--pin CPU,...] [--vcpu-sched POLICY] [--halt-poll-ns N] [--disk ...]
           [--exit-log FILE] [--stats[=text|json]] [--stats-file=FILE]
  kvmm bench sched [--workload ipi|spin-wait|spin] [--cpus N] [--pin CPU,...]
           [--vcpu-sched POLICY] [--halt-poll-ns N] [--ipi x2apic|xapic]
           [--iterations N] [--warmup N] [--duration-ms N] [--json FILE]
  kvmm check [--quiet] [--linux]
  kvmm bench exits [--kind K[,K...]] [--iterations N] [--warmup N]
                   [--json FILE] [--csv FILE] [--plot FILE.svg|FILE.png]
  kvmm --help | --version

kvmm run
  --kernel FILE    Linux bzImage (64-bit boot protocol 2.12+), or an ELF vmlinux
                   with a PVH entry note (entered in 32-bit protected mode)
  --initrd FILE    initial ramdisk, loaded high in RAM
  --cmdline STR    kernel command line (default "console=ttyS0 panic=-1 pci=off")
  --cpus N         vCPUs, one host thread each, named vcpu0..; N may exceed the
                   host's CPUs (default 1)
  --pin LIST       pin vCPU i to host CPU LIST[i], e.g. --pin 0,1
  --vcpu-sched P   host scheduling policy of every vCPU thread: other, idle,
                   fifo[:PRIO] or rr[:PRIO] (PRIO 1-99, default 1); fifo and
                   rr need CAP_SYS_NICE or RLIMIT_RTPRIO
  --halt-poll-ns N longest a halted vCPU polls before sleeping, for this VM
                   (KVM_CAP_HALT_POLL; 0 turns polling off)
  --disk PATH[,ro][,serial=S][,cache=none|writeback]
                   a virtio-blk disk (repeatable: /dev/vda, /dev/vdb, ...) backed
                   by an image file or a block device; ro shares it read-only;
                   cache=none bypasses the host page cache (O_DIRECT). The image
                   is locked: one writer, or any number of read-only users
  --net tap=NAME[,mac=MAC][,offload=on|off][,vhost=on|off]
  --net fd=N[,mac=MAC][,offload=on|off][,vhost=on|off]
                   a virtio-net interface (repeatable: eth0, eth1, ...) on the TAP
                   NAME (opened, or created with CAP_NET_ADMIN) or on an open tap
                   fd N handed over by a parent process; offload=off turns off
                   checksum and TSO offloads; vhost=on moves the frames in the
                   kernel (/dev/vhost-net). tools/kvmm-net sets up a bridge
  --boot-trace     print the boot phases with times since kvmm started
  Console: the guest's COM1 is stdin/stdout; on a terminal, Ctrl-A x quits
  and Ctrl-A Ctrl-A sends Ctrl-A. The guest's poweroff and reboot end kvmm
  with status 0.

  --flat FILE      raw binary (nasm -f bin), loaded and entered at 0x8000
  --mode MODE      CPU mode at entry (default real):
                     real       CS=DS=ES=SS=0, IP=0x8000, SP=0x8000
                     protected  flat 4 GiB 32-bit segments (CS 0x08, data 0x10), paging off
                     long       64-bit, first 4 GiB identity-mapped with 2 MiB pages
                   protected/long: ESP/RSP at the top of RAM below 3 GiB
  --mem SIZE       guest RAM, e.g. 64M, 2G; a bare number is MiB (default 256M)
  --cpus N         (protected, long) N vCPUs all entered at 0x8000, vCPU i with
                   its stack 64 KiB * i below the first; they tell themselves
                   apart by APIC ID. The local APICs are KVM's, so hlt waits
                   for an interrupt: end such a guest through the debug exit
  --exit-log FILE  write one line per VM exit handled by kvmm ("-" for stderr)
  --stats[=FMT]    at exit, print per-vCPU statistics to stderr: exits by reason,
                   port and MMIO address, time in KVM_RUN and in kvmm's handlers,
                   handler latency, KVM's own counters, run delay; FMT is text
                   (a table, the default) or json
  --stats-file=FILE  write the same statistics as JSON to FILE

  Devices: COM1 serial at port 0x3f8 (to stdout); debug exit at port 0x501
  (a byte written there ends the run with that exit status); a test device
  (16 scratch bytes) at ports 0x520-0x52f and MMIO 0xd0000000-0xd000000f;
  virtio-mmio devices at 0xd1000000 + 0x1000*i with IRQs 5, 6, 7, 9, 10, ...,
  described in the ACPI DSDT (and on the command line with acpi=off).
  Exit status: the debug-exit byte; 0 when the guest halts; 1 when kvmm could
  not start the guest; 2 when the guest crashed; 128+N on signal N.

kvmm bench sched
  An SMP guest measures vCPU scheduling by the host (see README.md,
  "Scheduling experiments"):
  --workload W     ipi: vCPU 0 and vCPU k pass a token through memory and wake
                   each other with IPIs, waiting in hlt (default); spin-wait:
                   the same, spinning instead; spin: every vCPU counts for
                   --duration-ms (default 200), showing how fairly they ran
  --cpus N         vCPUs (default 2); more than the host's CPUs is overcommit
  --ipi MECH       x2apic: IPIs through the x2APIC ICR MSR (default; xapic where
                   the CPU has no x2APIC); xapic: through the xAPIC MMIO page
  --iterations N   measured round trips (default 10000), after --warmup N
                   (default 100) unmeasured ones
  --pin, --vcpu-sched, --halt-poll-ns  as for kvmm run
  --json FILE      also write the results as JSON
  Prints round-trip percentiles in TSC cycles and ns, each vCPU's count
  (spin), and each vCPU thread's run delay (time runnable, waiting for a
  host CPU, from /proc/self/task/TID/schedstat).

kvmm check
  Reports whether this host can run guests (CPU flags, /dev/kvm access, API
  version, capabilities, vCPU limits) and runs a tiny guest. --quiet prints
  nothing; the exit status is 0 when guests can run. --linux also fails on a
  KVM that cannot boot stock Linux kernels (the paravirtual kvm_pvm).

)" + bench_usage_text() + R"(
Environment:
  KVMM_KVM_DEVICE  path of the KVM device (default /dev/kvm)
  KVMM_GUEST_DIR   where kvmm bench finds its guests (default: guest/ next to kvmm)
)";
}

}  // namespace kvmm

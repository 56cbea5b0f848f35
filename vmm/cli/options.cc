#include "vmm/cli/options.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "vmm/cli/arg_reader.h"
#include "vmm/cli/size.h"
#include "vmm/util/error.h"

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
    if (r.config.cpus != 1) {
      throw Error("--cpus " + std::to_string(r.config.cpus) +
                  " needs --kernel: flat guests run on one vCPU");
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

}  // namespace

Command parse_command_line(std::span<const std::string_view> args) {
  if (args.empty()) throw Error("kvmm needs a command: see kvmm --help");
  const std::string_view command = args[0];
  const auto rest = args.subspan(1);
  if (command == "--help" || command == "-h" || command == "help") return HelpCommand{};
  if (command == "--version" || command == "-V" || command == "version") return VersionCommand{};
  if (command == "run") return parse_run(rest);
  if (command == "check") return parse_check(rest);
  if (command == "bench") return parse_bench_command(rest);
  throw Error("unknown command '" + std::string(command) + "': see kvmm --help");
}

std::string usage_text() {
  return R"(kvmm — a minimal hypervisor on Linux KVM

Usage:
  kvmm run --kernel FILE [--initrd FILE] [--cmdline STR] [--mem SIZE] [--cpus N]
           [--pin CPU,...] [--boot-trace] [--exit-log FILE]
           [--stats[=text|json]] [--stats-file=FILE]
  kvmm run --flat FILE [--mode real|protected|long] [--mem SIZE] [--exit-log FILE]
           [--stats[=text|json]] [--stats-file=FILE]
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
  --exit-log FILE  write one line per VM exit handled by kvmm ("-" for stderr)
  --stats[=FMT]    at exit, print per-vCPU statistics to stderr: exits by reason,
                   port and MMIO address, time in KVM_RUN and in kvmm's handlers,
                   handler latency, KVM's own counters, run delay; FMT is text
                   (a table, the default) or json
  --stats-file=FILE  write the same statistics as JSON to FILE

  Devices: COM1 serial at port 0x3f8 (to stdout); debug exit at port 0x501
  (a byte written there ends the run with that exit status); a test device
  (16 scratch bytes) at ports 0x520-0x52f and MMIO 0xd0000000-0xd000000f.
  Exit status: the debug-exit byte; 0 when the guest halts; 1 when kvmm could
  not start the guest; 2 when the guest crashed; 128+N on signal N.

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

#include "app/api/api_json.h"

#include <cstdint>
#include <cstdio>
#include <string>

#include "base/util/json_writer.h"
#include "devices/virtio/block/disk_options.h"
#include "devices/virtio/net/net_options.h"
#include "vmm/cpu/cpu_mode.h"
#include "vmm/cpu/vcpu_sched.h"
#include "vmm/security/seccomp.h"

namespace kvmm {

namespace {

// The options that shaped the VM, as `kvmm run --config FILE` reads them
// (docs/api.md, "Config files"): each key is a `kvmm run` option's name and
// each value what follows the option, so the object recreates the VM.
// Defaults that the option cannot spell (no --pin, no --vcpu-sched) are left
// out.
void config_json(JsonWriter& json, const VmConfig& config, std::string_view name) {
  json.begin_object();
  json.member("name", name);
  if (config.kernel) {
    json.member("kernel", config.kernel->string());
    if (config.initrd) json.member("initrd", config.initrd->string());
    json.member("cmdline", config.cmdline);
    if (!config.cmdline_append.empty()) json.member("append", config.cmdline_append);
    json.member("kernel-unpack", kernel_unpack_name(config.kernel_unpack));
  }
  if (config.flat_image) {
    json.member("flat", config.flat_image->string());
    json.member("mode", cpu_mode_name(config.mode));
  }
  json.member("cpus", config.cpus);
  // --mem takes K, M, G; the largest unit that divides the size keeps it exact.
  const uint64_t mem = config.memory_bytes;
  json.member("mem", mem % (1ull << 20) == 0 ? std::to_string(mem >> 20) + "M"
                                              : std::to_string(mem >> 10) + "K");
  if (!config.pin.empty()) {
    std::string pin;
    for (int cpu : config.pin) pin += (pin.empty() ? "" : ",") + std::to_string(cpu);
    json.member("pin", pin);
  }
  if (config.vcpu_sched) json.member("vcpu-sched", vcpu_sched_name(*config.vcpu_sched));
  if (config.halt_poll_ns) json.member("halt-poll-ns", *config.halt_poll_ns);
  json.key("disk").begin_array();
  for (const DiskOptions& disk : config.disks) json.value(format_disk_options(disk));
  json.end_array();
  json.key("net").begin_array();
  for (const NetOptions& net : config.nets) json.value(format_net_options(net));
  json.end_array();
  json.key("device").begin_array(JsonWriter::Layout::kInline);
  if (config.debug_devices.debug_exit) json.value("debug-exit");
  if (config.debug_devices.test_device) json.value("testdev");
  if (const auto& ports = config.debug_devices.isa_debug_exit) {
    char text[64];
    std::snprintf(text, sizeof text, "isa-debug-exit,iobase=0x%x,iosize=%u", ports->iobase,
                  unsigned{ports->iosize});
    json.value(text);
  }
  if (config.debug_devices.pc_testdev) json.value("pc-testdev");
  json.end_array();
  json.member("seccomp", seccomp_mode_name(config.seccomp));
  if (config.boot_trace) json.member("boot-trace", true);
  if (config.exit_log_path) json.member("exit-log", *config.exit_log_path);
  if (config.stats && config.stats->to_stderr) {
    json.member("stats", config.stats->to_stderr == StatsOutput::Format::kJson ? "json" : "text");
  }
  if (config.stats && config.stats->json_path) json.member("stats-file", *config.stats->json_path);
  if (config.jail) {
    std::string jail = config.jail->dir.string();
    if (config.jail->uid) jail += ",uid=" + std::to_string(*config.jail->uid);
    if (config.jail->gid) jail += ",gid=" + std::to_string(*config.jail->gid);
    json.member("jail", jail);
  }
  json.end_object();
}

}  // namespace

std::string format_vm_info(const VmStatus& status) {
  JsonWriter json;
  json.begin_object();
  json.member("name", status.name);
  json.member("pid", int64_t{status.pid});
  json.member("state", vm_state_name(status.state));
  json.member("uptime_s", JsonWriter::Fixed{status.uptime_seconds, 3});
  json.member("api_socket", status.api_socket);
  json.key("config");
  config_json(json, *status.config, status.name);
  json.key("vcpus").begin_array();
  for (const VcpuThreadInfo& vcpu : status.vcpus) {
    json.begin_object(JsonWriter::Layout::kInline);
    json.member("vcpu", vcpu.vcpu).member("tid", int64_t{vcpu.tid});
    if (vcpu.last_cpu >= 0) {
      json.member("last_cpu", int64_t{vcpu.last_cpu});
    } else {
      json.member_null("last_cpu");
    }
    json.key("affinity").begin_array(JsonWriter::Layout::kInline);
    for (int cpu : vcpu.affinity) json.value(int64_t{cpu});
    json.end_array();
    json.member("policy", vcpu.policy).member("priority", int64_t{vcpu.priority});
    json.end_object();
  }
  json.end_array();
  json.end_object();
  return json.finish();
}

std::string format_ping(const VmStatus& status, std::string_view version) {
  JsonWriter json;
  json.begin_object(JsonWriter::Layout::kInline)
      .member("name", status.name)
      .member("pid", int64_t{status.pid})
      .member("version", version)
      .end_object();
  return json.finish();
}

}  // namespace kvmm

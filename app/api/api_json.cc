#include "app/api/api_json.h"

#include "base/util/json_writer.h"

namespace kvmm {

namespace {

const char* mode_name(CpuMode mode) {
  switch (mode) {
    case CpuMode::kReal: return "real";
    case CpuMode::kProtected: return "protected";
    case CpuMode::kLong: return "long";
  }
  return "real";
}

// Keys are `kvmm run`'s option names, so that a reader maps them at sight.
void config_json(JsonWriter& json, const VmConfig& config) {
  json.begin_object();
  if (config.kernel) {
    json.member("kernel", config.kernel->string());
    if (config.initrd) json.member("initrd", config.initrd->string());
    json.member("cmdline", config.cmdline);
  }
  if (config.flat_image) {
    json.member("flat", config.flat_image->string());
    json.member("mode", mode_name(config.mode));
  }
  json.member("cpus", config.cpus);
  json.member("mem", std::to_string(config.memory_bytes >> 20) + "M");
  json.key("pin").begin_array(JsonWriter::Layout::kInline);
  for (int cpu : config.pin) json.value(int64_t{cpu});
  json.end_array();
  json.key("disk").begin_array();
  for (const DiskOptions& disk : config.disks) {
    json.begin_object(JsonWriter::Layout::kInline)
        .member("path", disk.path)
        .member("readonly", disk.access == DiskAccess::kReadOnly)
        .member("cache", disk.cache == DiskCache::kNone ? "none" : "writeback")
        .end_object();
  }
  json.end_array();
  json.key("net").begin_array();
  for (const NetOptions& net : config.nets) {
    json.begin_object(JsonWriter::Layout::kInline);
    if (net.tap.empty()) {
      json.member("fd", int64_t{net.fd});
    } else {
      json.member("tap", net.tap);
    }
    json.member("mac", format_mac(net.mac)).member("vhost", net.vhost).end_object();
  }
  json.end_array();
  json.member("stats", config.stats.has_value());
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
  config_json(json, *status.config);
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

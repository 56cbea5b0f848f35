#include "vmm/cpu/vcpu_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "base/util/format.h"
#include "base/util/json_writer.h"
#include "base/util/parse.h"

namespace kvmm {

namespace {

std::string io_key_name(uint64_t key) {
  return hex(key >> 1) + ((key & 1) != 0 ? " out" : " in");
}

std::string mmio_key_name(uint64_t key) {
  return hex(key >> 1) + ((key & 1) != 0 ? " write" : " read");
}

void counter_json(JsonWriter& json, std::string_view key, const BoundedCounter& counter,
                  std::string (*name)(uint64_t)) {
  json.key(key).begin_object();
  for (const auto& [counter_key, count] : counter.counts()) json.member(name(counter_key), count);
  json.member("other", counter.other());
  json.end_object();
}

// One value as a number, several as an inline array: `[1, 2]`.
void values_json(JsonWriter& json, std::string_view key, const std::vector<uint64_t>& values) {
  if (values.size() == 1) {
    json.member(key, values[0]);
    return;
  }
  json.key(key).begin_array(JsonWriter::Layout::kInline);
  for (const uint64_t v : values) json.value(v);
  json.end_array();
}

void vcpu_json(JsonWriter& json, const VcpuStats& s) {
  json.begin_object();
  json.member("vcpu", uint64_t{s.vcpu});
  json.member("tid", int64_t{s.tid});
  json.member("kvm_run_ns", s.kvm_run_ns);
  json.member("handler_ns", s.handler_ns);
  if (s.guest_time_ns) {
    json.member("guest_time_ns", *s.guest_time_ns);
  } else {
    json.member_null("guest_time_ns");
  }
  if (s.run_delay_ns) {
    json.member("run_delay_ns", *s.run_delay_ns);
  } else {
    json.member_null("run_delay_ns");
  }
  json.member("exits", s.exits());
  json.key("exits_by_reason").begin_object();
  for (size_t i = 0; i < s.exits_by_reason.size(); ++i) {
    if (s.exits_by_reason[i] == 0) continue;
    json.member(exit_reason_name(static_cast<ExitReason>(i)), s.exits_by_reason[i]);
  }
  json.end_object();
  counter_json(json, "io_ports", s.io, io_key_name);
  counter_json(json, "mmio_addresses", s.mmio, mmio_key_name);
  const LatencyHistogram& h = s.handler_latency;
  json.key("handler_latency_ns").begin_object();
  json.member("count", h.count());
  json.member("min", h.min());
  json.member("median", h.percentile(0.5));
  json.member("p99", h.percentile(0.99));
  json.member("max", h.max());
  json.key("buckets").begin_object();
  for (size_t i = 0; i < h.buckets().size(); ++i) {
    if (h.buckets()[i] != 0) json.member(std::to_string(i), h.buckets()[i]);
  }
  json.end_object();
  json.end_object();
  json.key("kernel_stats").begin_object();
  json.member("available", s.kernel.available);
  if (s.kernel.available) {
    json.key("counters").begin_object();
    for (const KvmStat& stat : s.kernel.counters) values_json(json, stat.name, stat.values);
    json.end_object();
  } else {
    json.member("reason", s.kernel.unavailable_reason);
  }
  json.end_object();
  json.end_object();
}

// The same for the text report: "5" or "[1, 2]".
std::string values_text(const std::vector<uint64_t>& values) {
  if (values.size() == 1) return std::to_string(values[0]);
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i > 0 ? ", " : "") + std::to_string(values[i]);
  return out + "]";
}

// "1.234 ms"
std::string milliseconds(uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f ms", static_cast<double>(ns) / 1e6);
  return text;
}

void counter_text(std::string& out, std::string_view title, const BoundedCounter& counter,
                  std::string (*name)(uint64_t)) {
  if (counter.counts().empty()) return;
  out += "  ";
  out += title;
  out += ":\n";
  char line[96];
  for (const auto& [key, count] : counter.counts()) {
    std::snprintf(line, sizeof line, "    %-22s %12llu\n", name(key).c_str(),
                  static_cast<unsigned long long>(count));
    out += line;
  }
  if (counter.other() != 0) {
    std::snprintf(line, sizeof line, "    %-22s %12llu\n", "other",
                  static_cast<unsigned long long>(counter.other()));
    out += line;
  }
}

}  // namespace

size_t LatencyHistogram::bucket_of(uint64_t ns) {
  return ns <= 1 ? 0 : static_cast<size_t>(std::bit_width(ns) - 1);
}

void LatencyHistogram::record(uint64_t ns) {
  ++buckets_[bucket_of(ns)];
  ++count_;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank-th smallest sample, 1-based: ceil(q * count), at least 1.
  const uint64_t rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::clamp<uint64_t>(uint64_t{1} << i, min(), max_);
  }
  return max_;
}

void BoundedCounter::add(uint64_t key) {
  auto it = counts_.find(key);
  if (it != counts_.end()) {
    ++it->second;
  } else if (counts_.size() < kMaxKeys) {
    counts_.emplace(key, 1);
  } else {
    ++other_;
  }
}

const char* exit_reason_name(ExitReason reason) {
  switch (reason) {
    case ExitReason::kIo: return "io";
    case ExitReason::kMmio: return "mmio";
    case ExitReason::kHlt: return "hlt";
    case ExitReason::kShutdown: return "shutdown";
    case ExitReason::kIntr: return "intr";
    case ExitReason::kFailEntry: return "fail_entry";
    case ExitReason::kInternalError: return "internal_error";
    case ExitReason::kInterrupted: return "interrupted";
    case ExitReason::kOther:
    case ExitReason::kCount: break;
  }
  return "other";
}

uint64_t VcpuStats::exits() const {
  uint64_t total = 0;
  for (size_t i = 0; i < exits_by_reason.size(); ++i) {
    // EINTR is KVM_RUN returning early, not an exit the guest caused.
    if (static_cast<ExitReason>(i) != ExitReason::kInterrupted) total += exits_by_reason[i];
  }
  return total;
}

std::optional<uint64_t> parse_schedstat_run_delay(std::string_view text) {
  // "<ns on CPU> <ns runnable, waiting> <timeslices>\n"
  const size_t first_space = text.find(' ');
  if (first_space == std::string_view::npos) return std::nullopt;
  text.remove_prefix(first_space + 1);
  return parse_integer<uint64_t>(leading_digits(text));
}

std::optional<uint64_t> parse_proc_stat_field(std::string_view line, int field) {
  const size_t close = line.rfind(')');
  if (close == std::string_view::npos || field < 3) return std::nullopt;
  std::string_view rest = line.substr(close + 1);
  for (int at = 3; !rest.empty(); ++at) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n')) rest.remove_prefix(1);
    const size_t end = std::min(rest.find(' '), rest.find('\n'));
    const std::string_view token = rest.substr(0, end);
    if (token.empty()) return std::nullopt;
    if (at == field) return parse_integer<uint64_t>(token);
    if (end == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(end);
  }
  return std::nullopt;
}

std::string format_stats_json(const std::vector<VcpuStats>& vcpus,
                              std::optional<bool> kvmm_counters) {
  JsonWriter json;
  json.begin_object();
  if (kvmm_counters) json.member("kvmm_counters", *kvmm_counters);
  json.key("vcpus").begin_array();
  for (const VcpuStats& s : vcpus) vcpu_json(json, s);
  json.end_array();
  json.end_object();
  return json.finish();
}

std::string format_stats_text(const std::vector<VcpuStats>& vcpus) {
  std::string out;
  char line[160];
  for (const VcpuStats& s : vcpus) {
    std::snprintf(line, sizeof line, "kvmm stats: vcpu%u (host thread %d)\n", s.vcpu, s.tid);
    out += line;
    std::snprintf(line, sizeof line, "  %-22s %s\n  %-22s %s\n  %-22s %s\n", "time in KVM_RUN",
                  milliseconds(s.kvm_run_ns).c_str(), "time in handlers",
                  milliseconds(s.handler_ns).c_str(), "run delay (schedstat)",
                  s.run_delay_ns ? milliseconds(*s.run_delay_ns).c_str() : "unavailable");
    out += line;
    std::snprintf(line, sizeof line, "  %-22s %12llu\n", "exits",
                  static_cast<unsigned long long>(s.exits()));
    out += line;
    for (size_t i = 0; i < s.exits_by_reason.size(); ++i) {
      if (s.exits_by_reason[i] == 0) continue;
      std::snprintf(line, sizeof line, "    %-22s %12llu\n",
                    exit_reason_name(static_cast<ExitReason>(i)),
                    static_cast<unsigned long long>(s.exits_by_reason[i]));
      out += line;
    }
    counter_text(out, "port I/O", s.io, io_key_name);
    counter_text(out, "MMIO", s.mmio, mmio_key_name);
    const LatencyHistogram& h = s.handler_latency;
    std::snprintf(line, sizeof line,
                  "  handler latency        count %llu  min %llu ns  median %llu ns  "
                  "p99 %llu ns  max %llu ns\n",
                  static_cast<unsigned long long>(h.count()),
                  static_cast<unsigned long long>(h.min()),
                  static_cast<unsigned long long>(h.percentile(0.5)),
                  static_cast<unsigned long long>(h.percentile(0.99)),
                  static_cast<unsigned long long>(h.max()));
    out += line;
    if (!s.kernel.available) {
      out += "  kernel stats: unavailable (" + s.kernel.unavailable_reason + ")\n";
      continue;
    }
    out += "  kernel stats (KVM_GET_STATS_FD):\n";
    for (const KvmStat& stat : s.kernel.counters) {
      // Not snprintf: a histogram stat's values can outgrow any fixed line.
      std::string name = "    " + stat.name;
      name.resize(std::max<size_t>(name.size() + 1, 33), ' ');
      out += name + values_text(stat.values) + "\n";
    }
  }
  return out;
}

}  // namespace kvmm

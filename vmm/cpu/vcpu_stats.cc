#include "vmm/cpu/vcpu_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "base/util/format.h"
#include "base/util/parse.h"

namespace kvmm {

namespace {

std::string io_key_name(uint64_t key) {
  return hex(key >> 1) + ((key & 1) != 0 ? " out" : " in");
}

std::string mmio_key_name(uint64_t key) {
  return hex(key >> 1) + ((key & 1) != 0 ? " write" : " read");
}

// One JSON object whose members are each on their own line.
class JsonObject {
 public:
  JsonObject(std::string& out, std::string indent) : out_(out), indent_(std::move(indent)) {
    out_ += "{";
  }
  void member(std::string_view key, std::string_view raw_value) {
    out_ += first_ ? "\n" : ",\n";
    first_ = false;
    out_ += indent_ + "  " + json_quote(key) + ": ";
    out_ += raw_value;
  }
  // Starts a member whose value the caller then appends (a nested object).
  std::string nested_indent(std::string_view key) {
    member(key, "");
    return indent_ + "  ";
  }
  void close() { out_ += first_ ? "}" : "\n" + indent_ + "}"; }

 private:
  std::string& out_;
  std::string indent_;
  bool first_ = true;
};

void counter_json(std::string& out, const std::string& indent, const BoundedCounter& counter,
                  std::string (*name)(uint64_t)) {
  JsonObject object(out, indent);
  for (const auto& [key, count] : counter.counts()) object.member(name(key), std::to_string(count));
  object.member("other", std::to_string(counter.other()));
  object.close();
}

std::string values_json(const std::vector<uint64_t>& values) {
  if (values.size() == 1) return std::to_string(values[0]);
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(values[i]);
  }
  return out + "]";
}

std::string vcpu_json(const VcpuStats& s, const std::string& indent) {
  std::string out;
  JsonObject object(out, indent);
  object.member("vcpu", std::to_string(s.vcpu));
  object.member("tid", std::to_string(s.tid));
  object.member("kvm_run_ns", std::to_string(s.kvm_run_ns));
  object.member("handler_ns", std::to_string(s.handler_ns));
  object.member("run_delay_ns", s.run_delay_ns ? std::to_string(*s.run_delay_ns) : "null");
  object.member("exits", std::to_string(s.exits()));
  {
    const std::string inner = object.nested_indent("exits_by_reason");
    JsonObject reasons(out, inner);
    for (size_t i = 0; i < s.exits_by_reason.size(); ++i) {
      if (s.exits_by_reason[i] == 0) continue;
      reasons.member(exit_reason_name(static_cast<ExitReason>(i)),
                     std::to_string(s.exits_by_reason[i]));
    }
    reasons.close();
  }
  counter_json(out, object.nested_indent("io_ports"), s.io, io_key_name);
  counter_json(out, object.nested_indent("mmio_addresses"), s.mmio, mmio_key_name);
  {
    const LatencyHistogram& h = s.handler_latency;
    const std::string inner = object.nested_indent("handler_latency_ns");
    JsonObject latency(out, inner);
    latency.member("count", std::to_string(h.count()));
    latency.member("min", std::to_string(h.min()));
    latency.member("median", std::to_string(h.percentile(0.5)));
    latency.member("p99", std::to_string(h.percentile(0.99)));
    latency.member("max", std::to_string(h.max()));
    JsonObject buckets(out, latency.nested_indent("buckets"));
    for (size_t i = 0; i < h.buckets().size(); ++i) {
      if (h.buckets()[i] != 0) buckets.member(std::to_string(i), std::to_string(h.buckets()[i]));
    }
    buckets.close();
    latency.close();
  }
  {
    const std::string inner = object.nested_indent("kernel_stats");
    JsonObject kernel(out, inner);
    kernel.member("available", s.kernel.available ? "true" : "false");
    if (s.kernel.available) {
      JsonObject counters(out, kernel.nested_indent("counters"));
      for (const KvmStat& stat : s.kernel.counters) {
        counters.member(stat.name, values_json(stat.values));
      }
      counters.close();
    } else {
      kernel.member("reason", json_quote(s.kernel.unavailable_reason));
    }
    kernel.close();
  }
  object.close();
  return out;
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

std::string format_stats_json(const std::vector<VcpuStats>& vcpus) {
  std::string out = "{\n  \"vcpus\": [";
  for (size_t i = 0; i < vcpus.size(); ++i) {
    out += i == 0 ? "\n    " : ",\n    ";
    out += vcpu_json(vcpus[i], "    ");
  }
  out += vcpus.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
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
      out += name + values_json(stat.values) + "\n";
    }
  }
  return out;
}

}  // namespace kvmm

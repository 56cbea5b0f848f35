#include "vmm/cpu/vcpu_stats.h"

#include <catch2/catch.hpp>

using namespace kvmm;

TEST_CASE("latency histogram bucket i holds 2^i up to 2^(i+1) ns") {
  CHECK(LatencyHistogram::bucket_of(0) == 0);
  CHECK(LatencyHistogram::bucket_of(1) == 0);
  CHECK(LatencyHistogram::bucket_of(2) == 1);
  CHECK(LatencyHistogram::bucket_of(3) == 1);
  CHECK(LatencyHistogram::bucket_of(4) == 2);
  CHECK(LatencyHistogram::bucket_of(1023) == 9);
  CHECK(LatencyHistogram::bucket_of(1024) == 10);
  CHECK(LatencyHistogram::bucket_of(UINT64_MAX) == 63);
}

TEST_CASE("latency percentiles are bucket lower bounds clamped to min and max") {
  LatencyHistogram h;
  CHECK(h.percentile(0.5) == 0);
  CHECK(h.min() == 0);
  for (int i = 0; i < 98; ++i) h.record(300);  // bucket 8: [256 and 512)
  h.record(5000);                              // bucket 12: [4096 and 8192)
  h.record(70000);                             // bucket 16
  CHECK(h.count() == 100);
  CHECK(h.min() == 300);
  CHECK(h.max() == 70000);
  CHECK(h.buckets()[8] == 98);
  CHECK(h.percentile(0.5) == 300);   // 256, clamped up to the minimum.
  CHECK(h.percentile(0.98) == 300);
  CHECK(h.percentile(0.99) == 4096);
  CHECK(h.percentile(1.0) == 65536);
  CHECK(h.percentile(0.0) == 300);
}

TEST_CASE("bounded counter keeps 64 keys and counts the rest as other") {
  BoundedCounter counter;
  for (uint64_t key = 0; key < 100; ++key) counter.add(key);
  counter.add(5);
  counter.add(99);
  CHECK(counter.counts().size() == BoundedCounter::kMaxKeys);
  CHECK(counter.counts().at(5) == 2);
  CHECK(counter.other() == 100 - 64 + 1);
}

TEST_CASE("schedstat run delay is its second field") {
  CHECK(parse_schedstat_run_delay("123456 7890 12\n") == 7890);
  CHECK(parse_schedstat_run_delay("1 0 0\n") == 0);
  CHECK_FALSE(parse_schedstat_run_delay("123456").has_value());
  CHECK_FALSE(parse_schedstat_run_delay("1 x 2").has_value());
  CHECK_FALSE(parse_schedstat_run_delay("1 99999999999999999999999 2").has_value());
}

namespace {

VcpuStats sample_stats() {
  VcpuStats s;
  s.vcpu = 1;
  s.tid = 4242;
  s.kvm_run_ns = 5000;
  s.handler_ns = 700;
  s.run_delay_ns = 33;
  s.count_exit(ExitReason::kIo);
  s.count_exit(ExitReason::kIo);
  s.count_exit(ExitReason::kMmio);
  s.count_exit(ExitReason::kInterrupted);
  s.io.add(0x520ULL << 1 | 1);
  s.io.add(0x3f8ULL << 1 | 1);
  s.mmio.add(0xd0000004ULL << 1 | 1);
  s.handler_latency.record(300);
  s.handler_latency.record(400);
  s.kernel.available = true;
  s.kernel.counters.push_back({"exits", 0, {17}});
  s.kernel.counters.push_back({"halt_wait_hist", 0, {1, 2}});
  return s;
}

}  // namespace

TEST_CASE("stats JSON has one member per line under the documented names") {
  const std::string json = format_stats_json({sample_stats()});
  CHECK(json.starts_with("{\n  \"vcpus\": [\n    {\n      \"vcpu\": 1,\n"));
  CHECK(json.ends_with("\n    }\n  ]\n}\n"));
  CHECK(json.find("\n      \"tid\": 4242,\n") != std::string::npos);
  CHECK(json.find("\n      \"kvm_run_ns\": 5000,\n") != std::string::npos);
  CHECK(json.find("\n      \"handler_ns\": 700,\n") != std::string::npos);
  CHECK(json.find("\n      \"run_delay_ns\": 33,\n") != std::string::npos);
  // The EINTR return is shown but is not an exit.
  CHECK(json.find("\n      \"exits\": 3,\n") != std::string::npos);
  CHECK(json.find("\"exits_by_reason\": {\n        \"io\": 2,\n        \"mmio\": 1,\n"
                  "        \"interrupted\": 1\n      },") != std::string::npos);
  CHECK(json.find("\"io_ports\": {\n        \"0x3f8 out\": 1,\n        \"0x520 out\": 1,\n"
                  "        \"other\": 0\n      },") != std::string::npos);
  CHECK(json.find("\"mmio_addresses\": {\n        \"0xd0000004 write\": 1,\n") !=
        std::string::npos);
  CHECK(json.find("\"count\": 2,\n") != std::string::npos);
  CHECK(json.find("\"min\": 300,\n") != std::string::npos);
  CHECK(json.find("\"max\": 400,\n") != std::string::npos);
  CHECK(json.find("\"buckets\": {\n          \"8\": 2\n        }") != std::string::npos);
  CHECK(json.find("\"available\": true,\n") != std::string::npos);
  CHECK(json.find("\"exits\": 17,\n") != std::string::npos);
  CHECK(json.find("\"halt_wait_hist\": [1, 2]\n") != std::string::npos);
}

TEST_CASE("stats JSON marks unavailable kernel stats with the reason") {
  VcpuStats s;
  s.run_delay_ns.reset();
  s.kernel.unavailable_reason = "KVM_GET_STATS_FD failed: \"no\"";
  const std::string json = format_stats_json({s});
  CHECK(json.find("\"run_delay_ns\": null,\n") != std::string::npos);
  CHECK(json.find("\"kernel_stats\": {\n        \"available\": false,\n"
                  "        \"reason\": \"KVM_GET_STATS_FD failed: \\\"no\\\"\"\n      }") !=
        std::string::npos);
  CHECK(json.find("\"exits_by_reason\": {},") != std::string::npos);
  CHECK(format_stats_json({}) == "{\n  \"vcpus\": []\n}\n");
}

TEST_CASE("stats text is a table per vCPU") {
  const std::string text = format_stats_text({sample_stats()});
  CHECK(text.starts_with("kvmm stats: vcpu1 (host thread 4242)\n"));
  CHECK(text.find("  time in KVM_RUN        0.005 ms\n") != std::string::npos);
  CHECK(text.find("    0x520 out                         1\n") != std::string::npos);
  CHECK(text.find("    0xd0000004 write                  1\n") != std::string::npos);
  CHECK(text.find("count 2  min 300 ns  median 300 ns  p99 300 ns  max 400 ns\n") !=
        std::string::npos);
  CHECK(text.find("    exits                        17\n") != std::string::npos);
  VcpuStats unavailable;
  unavailable.kernel.unavailable_reason = "ENOTTY";
  CHECK(format_stats_text({unavailable}).find("kernel stats: unavailable (ENOTTY)\n") !=
        std::string::npos);
}

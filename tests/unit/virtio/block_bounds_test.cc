// Bounded device work for virtio-blk, against a hostile driver: requests in
// flight never exceed the queue size, a head offered again while in flight
// breaks the queue, and cache=none bounce buffers stay within their budget.
// The real Virtqueue and BlockRequests are driven by the fake driver; the I/O
// engine completes only when the test says so (or never).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstring>
#include <deque>
#include <fstream>
#include <string>
#include <vector>

#include "base/memory/guest_memory.h"
#include "base/util/rate_limited_log.h"
#include "devices/virtio/block/block_io.h"
#include "devices/virtio/block/block_requests.h"
#include "tests/support/virtio_driver.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {

// An engine that does nothing: operations complete (successfully, oldest
// first) only when the test calls complete(). Like I/O the kernel cannot
// stop, it ignores cancel(); forgotten operations stay "in the kernel" (their
// keep_alive held) until the test calls finish_forgotten().
class ManualBlockIo final : public BlockIo {
 public:
  const char* name() const override { return "manual"; }
  void submit(BlockIoRequest request) override { submitted_.push_back(std::move(request)); }
  int completion_fd() const override { return -1; }
  std::vector<BlockIoCompletion> reap() override {
    std::vector<BlockIoCompletion> out;
    out.swap(done_);
    return out;
  }
  size_t in_flight() const override { return submitted_.size() + done_.size(); }
  void cancel() override { ++cancels_; }
  void forget_in_flight() override {
    for (BlockIoRequest& request : submitted_) forgotten_.push_back(std::move(request));
    submitted_.clear();
    done_.clear();
  }

  void complete(size_t count) {
    for (size_t i = 0; i < count && !submitted_.empty(); ++i) {
      done_.push_back(BlockIoCompletion{submitted_.front().tag, 0});
      submitted_.pop_front();
    }
  }
  void finish_forgotten() { forgotten_.clear(); }
  size_t in_kernel() const { return submitted_.size(); }
  const std::deque<BlockIoRequest>& forgotten() const { return forgotten_; }
  int cancels() const { return cancels_; }

 private:
  std::deque<BlockIoRequest> submitted_;
  std::vector<BlockIoCompletion> done_;
  std::deque<BlockIoRequest> forgotten_;
  int cancels_ = 0;
};

// The process's resident set (/proc/self/statm), in bytes.
uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0;
  uint64_t resident = 0;
  statm >> size >> resident;
  REQUIRE(statm);
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

constexpr uint64_t kRings = 0x10000;
constexpr uint64_t kTables = 0x20000;  // Indirect tables, 64 bytes apart.
constexpr uint64_t kHeader = 0x40000;
constexpr uint64_t kStatus = 0x40100;
constexpr uint64_t kData = 0x100000;

struct Fixture {
  GuestMemory memory;
  ManualBlockIo io;
  std::vector<std::string> lines;
  // A frozen clock: every line falls in one interval, however slow the run.
  RateLimitedLog log{"test: ", [this](std::string_view line) { lines.emplace_back(line); },
                     [] { return RateLimitedLog::Clock::time_point{}; }};

  explicit Fixture(uint64_t bytes = 1 << 21) { memory.add_region(GuestAddress{0}, bytes); }

  void header(uint32_t type, uint64_t sector) {
    const VirtioBlkHeader h{type, 0, sector};
    REQUIRE(memory.write_obj(GuestAddress{kHeader}, h));
  }
  // A read of `length` bytes into guest memory at `data`, as one indirect
  // descriptor (so many requests fit a small queue).
  uint16_t offer_read(DrivenQueue& queue, unsigned table, uint64_t data, uint32_t length) {
    const uint16_t head = queue.driver.add_indirect_chain(
        GuestAddress{kTables + 64ull * table},
        {{GuestAddress{kHeader}, 16, Access::kReadable},
         {GuestAddress{data}, length, Access::kWritable},
         {GuestAddress{kStatus}, 1, Access::kWritable}});
    return head;
  }
};

BlockDiskInfo disk(uint32_t max_in_flight) {
  BlockDiskInfo info;
  info.sectors = 1 << 16;
  info.max_in_flight = max_in_flight;
  return info;
}

}  // namespace

TEST_CASE("virtio-blk breaks the queue when one head is made available again while in flight") {
  // The review's hostile driver: one chain, its head re-published over and
  // over, an engine that never completes. Before, each copy became one more
  // request in flight (a million on a 256-entry queue).
  Fixture f;
  f.header(kVirtioBlkTIn, 0);
  DrivenQueue queue(f.memory, 256, GuestAddress{kRings});
  BlockRequests requests(f.io, disk(256), 0, "test: ");
  const uint16_t head = queue.offer({{GuestAddress{kHeader}, 16, Access::kReadable},
                                     {GuestAddress{kData}, 512, Access::kWritable},
                                     {GuestAddress{kStatus}, 1, Access::kWritable}});
  BlockQueueStep step = start_available(queue.queue, requests, f.log);
  REQUIRE_FALSE(step.broken);
  REQUIRE(requests.in_flight() == 1);

  int republished = 0;
  for (; republished < 1'000'000 && !step.broken; ++republished) {
    queue.driver.make_available(head);
    queue.driver.publish();
    step = start_available(queue.queue, requests, f.log);
    REQUIRE(requests.in_flight() <= 256);
  }
  CHECK(republished == 1);
  REQUIRE(step.broken);
  CHECK(step.broken->find("head " + std::to_string(head) + " made available again") !=
        std::string::npos);
  CHECK(step.broken->find("§2.7") != std::string::npos);
  CHECK(requests.in_flight() == 1);
  CHECK(f.io.in_kernel() == 1);
}

TEST_CASE("virtio-blk holds host memory flat against a driver re-publishing heads without end") {
  // The hostile driver above, made to go on: it fills a 256-entry queue with
  // reads (4 KiB of guest buffers each, in 8 pieces), then re-publishes
  // their heads a million times whatever the device says, and the engine
  // never completes. Bounded, the device holds 256 requests and, full, pops
  // nothing more (were it to pop, the first re-published head would break
  // the queue); unbounded (no queue-size limit, no in-flight head check),
  // each copy would be one more request and its iovecs (a few hundred bytes
  // of host memory each: hundreds of MiB in all).
  //
  // Measured 2026-12-05 on a Debian 12 build host (Linux 6.18, 2 cores,
  // RelWithDebInfo): 13,076 KiB resident after the warm-up and at the end;
  // with both bounds disabled, 16,360 KiB then 362,376 KiB (+346 MiB), and
  // the check below fails.
  Fixture f(4 << 20);
  f.header(kVirtioBlkTIn, 0);
  constexpr uint16_t kSize = 256;
  DrivenQueue queue(f.memory, kSize, GuestAddress{kRings});
  BlockRequests requests(f.io, disk(kSize), 0, f.log);
  std::vector<uint16_t> heads;
  for (unsigned i = 0; i < kSize; ++i) {
    std::vector<Buffer> segments{{GuestAddress{kHeader}, 16, Access::kReadable}};
    for (unsigned piece = 0; piece < 8; ++piece) {
      segments.push_back({GuestAddress{kData + 4096ull * i + 512 * piece}, 512, Access::kWritable});
    }
    segments.push_back({GuestAddress{kStatus}, 1, Access::kWritable});
    heads.push_back(queue.driver.add_indirect_chain(GuestAddress{kTables + 256ull * i}, segments));
  }
  queue.driver.publish();
  BlockQueueStep step = start_available(queue.queue, requests, f.log);
  REQUIRE(requests.in_flight() == kSize);

  constexpr unsigned kRepublished = 1'000'000;
  constexpr unsigned kWarmUp = 10'000;
  uint64_t warm = 0;
  size_t most_in_flight = 0;
  for (unsigned i = 0; i < kRepublished; ++i) {
    if (i == kWarmUp) warm = resident_bytes();
    queue.driver.make_available(heads[i % kSize]);
    queue.driver.publish();
    step = start_available(queue.queue, requests, f.log);
    most_in_flight = std::max(most_in_flight, requests.in_flight());
  }
  const uint64_t end = resident_bytes();
  INFO("resident set: " << warm / 1024 << " KiB after the warm-up, " << end / 1024 << " KiB at the end");
  CHECK(end < warm + (4u << 20));
  CHECK(most_in_flight == kSize);
  CHECK(step.completed.empty());
  CHECK(f.io.in_kernel() == kSize);
}

TEST_CASE("virtio-blk reset cancels, then forgets, and the engine keeps the bounce buffers") {
  Fixture f(4 << 20);
  f.header(kVirtioBlkTIn, 0);
  DrivenQueue queue(f.memory, 16, GuestAddress{kRings});
  BlockDiskInfo info = disk(16);
  info.buffer_alignment = 4096;
  info.bounce_budget = 1 << 20;
  {
    BlockRequests requests(f.io, info, 0, "test: ");
    f.offer_read(queue, 0, kData + 1, 8192);  // Misaligned: bounced.
    f.offer_read(queue, 1, kData + 1, 1 << 20);  // Waits for bounce space.
    queue.driver.publish();
    REQUIRE_FALSE(start_available(queue.queue, requests, f.log).broken);
    CHECK(requests.in_flight() == 2);
    CHECK(requests.submitted() == 1);

    // VirtioBlock::run's reset, against I/O the kernel cannot stop: with no
    // time to wait, the one submitted read is left to the engine.
    CHECK(requests.stop(std::chrono::milliseconds(0)) == 1);
    CHECK(f.io.cancels() == 1);
    CHECK(requests.in_flight() == 0);
    CHECK(requests.submitted() == 0);
    CHECK(requests.bounce_bytes() == 0);
  }
  // The BlockRequests is gone; the read still in the "kernel" writes into a
  // bounce buffer the engine owns.
  REQUIRE(f.io.forgotten().size() == 1);
  const BlockIoRequest& stuck = f.io.forgotten().front();
  REQUIRE(stuck.keep_alive != nullptr);
  CHECK(stuck.keep_alive.use_count() == 1);
  REQUIRE(stuck.iov.size() == 1);
  CHECK(stuck.iov[0].iov_base == stuck.keep_alive.get());
  std::memset(stuck.iov[0].iov_base, 0xab, stuck.iov[0].iov_len);
  f.io.finish_forgotten();
}

TEST_CASE("virtio-blk requests gone while in the engine are forgotten, not left for the next") {
  // An I/O thread unwinding from an error destroys its BlockRequests with
  // reads in the kernel: the engine must not hand their completions (tags
  // from 0 again) to the next activation's BlockRequests.
  Fixture f;
  f.header(kVirtioBlkTIn, 0);
  DrivenQueue queue(f.memory, 8, GuestAddress{kRings});
  {
    BlockRequests requests(f.io, disk(8), 0, "test: ");
    f.offer_read(queue, 0, kData, 512);
    queue.driver.publish();
    REQUIRE_FALSE(start_available(queue.queue, requests, f.log).broken);
    REQUIRE(requests.submitted() == 1);
  }
  CHECK(f.io.in_kernel() == 0);
  CHECK(f.io.forgotten().size() == 1);
  CHECK(f.io.in_flight() == 0);
}

TEST_CASE("virtio-blk stops popping at queue size in flight and resumes as requests complete") {
  Fixture f;
  f.header(kVirtioBlkTIn, 0);
  constexpr uint16_t kSize = 8;
  DrivenQueue queue(f.memory, kSize, GuestAddress{kRings});
  BlockRequests requests(f.io, disk(kSize), 0, "test: ");
  std::vector<uint16_t> heads;
  for (unsigned i = 0; i < kSize; ++i) heads.push_back(f.offer_read(queue, i, kData + 512 * i, 512));
  queue.driver.publish();
  BlockQueueStep step = start_available(queue.queue, requests, f.log);
  CHECK_FALSE(step.broken);
  CHECK(step.completed.empty());
  CHECK(requests.in_flight() == kSize);
  CHECK(requests.full());

  // A queue's worth more, every one a head the device still owns: full, the
  // device leaves them in the ring rather than popping them.
  for (unsigned i = 0; i < kSize; ++i) queue.driver.make_available(heads[0]);
  queue.driver.publish();
  step = start_available(queue.queue, requests, f.log);
  CHECK_FALSE(step.broken);
  CHECK(requests.in_flight() == kSize);

  // The first request completes: its head is free again, so the next entry
  // (the same head, offered early) is a new request.
  f.io.complete(1);
  std::vector<BlockCompletion> done = requests.reap();
  REQUIRE(done.size() == 1);
  CHECK(done[0].head == heads[0]);
  REQUIRE(queue.queue.add_used(done[0].head, done[0].used_len));
  step = start_available(queue.queue, requests, f.log);
  CHECK_FALSE(step.broken);
  CHECK(requests.in_flight() == kSize);

  // The second completes; the next entry is heads[0] again, still in flight.
  f.io.complete(1);
  done = requests.reap();
  REQUIRE(done.size() == 1);
  CHECK(done[0].head == heads[1]);
  step = start_available(queue.queue, requests, f.log);
  REQUIRE(step.broken);
  CHECK(requests.in_flight() == kSize - 1);
}

TEST_CASE("virtio-blk with cache=none keeps bounce buffers within the device's budget") {
  // 200 misaligned 1 MiB reads (each needs a bounce buffer) on a 256-entry
  // queue with a 4 MiB budget: 4 run, the rest wait without host memory.
  Fixture f(4 << 20);
  f.header(kVirtioBlkTIn, 0);
  DrivenQueue queue(f.memory, 256, GuestAddress{kRings});
  BlockDiskInfo info = disk(256);
  info.buffer_alignment = 4096;
  info.bounce_budget = 4 << 20;
  BlockRequests requests(f.io, info, 0, "test: ");
  constexpr unsigned kRequests = 200;
  constexpr uint32_t kLength = 1 << 20;
  for (unsigned i = 0; i < kRequests; ++i) f.offer_read(queue, i, kData + 1, kLength);
  queue.driver.publish();

  BlockQueueStep step = start_available(queue.queue, requests, f.log);
  REQUIRE_FALSE(step.broken);
  CHECK(requests.in_flight() == kRequests);
  CHECK(requests.submitted() == 4);
  CHECK(requests.bounce_bytes() == info.bounce_budget);

  unsigned completed = 0;
  while (completed < kRequests) {
    REQUIRE(f.io.in_kernel() > 0);
    f.io.complete(1);
    completed += static_cast<unsigned>(requests.reap().size());
    REQUIRE(requests.bounce_bytes() <= info.bounce_budget);
  }
  CHECK(requests.in_flight() == 0);
  CHECK(requests.bounce_bytes() == 0);
  CHECK(requests.peak_bounce_bytes() == info.bounce_budget);
}

TEST_CASE("virtio-blk runs a request larger than the bounce budget alone") {
  Fixture f(4 << 20);
  f.header(kVirtioBlkTIn, 0);
  DrivenQueue queue(f.memory, 16, GuestAddress{kRings});
  BlockDiskInfo info = disk(16);
  info.buffer_alignment = 4096;
  info.bounce_budget = 1 << 20;
  BlockRequests requests(f.io, info, 0, "test: ");
  f.offer_read(queue, 0, kData + 1, 512);
  f.offer_read(queue, 1, kData + 1, 3 << 19);  // 1.5 MiB: over the budget.
  f.offer_read(queue, 2, kData + 1, 512);
  queue.driver.publish();

  REQUIRE_FALSE(start_available(queue.queue, requests, f.log).broken);
  CHECK(requests.in_flight() == 3);
  CHECK(requests.submitted() == 1);  // The big one waits for the first; FIFO holds the third.
  f.io.complete(1);
  CHECK(requests.reap().size() == 1);
  CHECK(requests.submitted() == 1);
  CHECK(requests.bounce_bytes() == (3u << 19));
  f.io.complete(1);
  CHECK(requests.reap().size() == 1);
  CHECK(requests.submitted() == 1);
  f.io.complete(1);
  CHECK(requests.reap().size() == 1);
  CHECK(requests.in_flight() == 0);
  CHECK(requests.peak_bounce_bytes() == (3u << 19));
}

TEST_CASE("virtio-blk reset forgets requests never handed to the engine") {
  Fixture f(4 << 20);
  f.header(kVirtioBlkTOut, 0);
  DrivenQueue queue(f.memory, 16, GuestAddress{kRings});
  BlockDiskInfo info = disk(16);
  info.buffer_alignment = 4096;
  info.bounce_budget = 1 << 20;
  BlockRequests requests(f.io, info, kVirtioBlkFFlush, "test: ");
  // Two misaligned 1 MiB writes (one waits for bounce space) and a FLUSH
  // held back until both complete.
  for (unsigned i = 0; i < 2; ++i) {
    queue.driver.add_indirect_chain(GuestAddress{kTables + 64ull * i},
                                    {{GuestAddress{kHeader}, 16, Access::kReadable},
                                     {GuestAddress{kData + 1}, 1 << 20, Access::kReadable},
                                     {GuestAddress{kStatus}, 1, Access::kWritable}});
  }
  queue.driver.publish();
  REQUIRE_FALSE(start_available(queue.queue, requests, f.log).broken);
  const VirtioBlkHeader flush{kVirtioBlkTFlush, 0, 0};
  REQUIRE(f.memory.write_obj(GuestAddress{kHeader + 0x200}, flush));
  queue.driver.add_indirect_chain(GuestAddress{kTables + 64ull * 2},
                                  {{GuestAddress{kHeader + 0x200}, 16, Access::kReadable},
                                   {GuestAddress{kStatus + 1}, 1, Access::kWritable}});
  queue.driver.publish();
  REQUIRE_FALSE(start_available(queue.queue, requests, f.log).broken);
  CHECK(requests.in_flight() == 3);
  CHECK(requests.submitted() == 1);

  requests.abandon_unsubmitted();
  CHECK(requests.in_flight() == 1);
  CHECK(requests.submitted() == 1);
  f.io.complete(1);
  CHECK(requests.reap().size() == 1);
  CHECK(requests.in_flight() == 0);
  CHECK(requests.bounce_bytes() == 0);
  CHECK(f.io.in_kernel() == 0);  // The FLUSH was never sent.
}

TEST_CASE("virtio-blk's log budget lasts the device's life, not one activation") {
  // Each activation makes a new BlockRequests; the device's one limiter is
  // shared by all of them, so re-activating does not refill the budget.
  Fixture f;
  f.header(99, 0);  // An unsupported type: one log line per request.
  DrivenQueue queue(f.memory, 8, GuestAddress{kRings});
  for (int activation = 0; activation < 3; ++activation) {
    BlockRequests requests(f.io, disk(8), 0, f.log);
    for (unsigned i = 0; i < 4; ++i) {
      const uint16_t head = f.offer_read(queue, i, kData, 512);
      queue.driver.publish();
      const BlockQueueStep step = start_available(queue.queue, requests, f.log);
      REQUIRE(step.completed.size() == 1);
      CHECK(step.completed[0].status == kVirtioBlkSUnsupp);
      REQUIRE(queue.queue.add_used(head, step.completed[0].used_len));
      REQUIRE(queue.used().size() == activation * 4u + i + 1);
    }
  }
  // 12 faults within one interval (the fixture's clock stands still): the
  // burst, not 3 bursts.
  CHECK(f.lines.size() == RateLimitedLog::kBurst);
}

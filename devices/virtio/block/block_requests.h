#pragma once
// The virtio-blk request path (virtio 1.2 §5.2.6), without the queue: takes
// a popped DescriptorChain, validates it, starts its host I/O on a BlockIo,
// and returns what to put in the used ring when it is done. The device's
// I/O thread drives it; unit tests drive it with chains built by hand.
//
// Every field of a request is guest-controlled: the header is copied out
// before use, sector ranges are checked against the capacity without
// overflow, and a bad request fails (IOERR or UNSUPP) without touching the
// image. Used length: every writable byte up to and including the status
// byte (as QEMU reports it); 0 for a chain with no writable byte, which has
// nowhere to put a status and is dropped.
//
// FLUSH durability: fdatasync covers writes that completed before it was
// issued, so a FLUSH is held back until every write (OUT, DISCARD,
// WRITE_ZEROES) submitted before it has completed.
//
// Bounded work (a guest cannot make the host hold more than it offers):
//  - at most BlockDiskInfo::max_in_flight requests are in flight (the queue
//    size); start_available() stops popping when full and leaves the rest in
//    the ring, and a head made available again while it is still in flight
//    breaks the queue (virtio 1.2 §2.7: the device owns a buffer from the
//    moment it is made available until it is used, so the driver may not
//    offer it twice);
//  - bounce buffers (cache=none, misaligned guest buffers) come from a
//    per-device budget (BlockDiskInfo::bounce_budget): a request that does
//    not fit waits, without host memory, until completions free enough of
//    it. One request larger than the whole budget runs alone (it waits until
//    no other bounce buffer is in use), so the device never holds more than
//    max(budget, one request) of bounce buffers.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "devices/virtio/block/block_io.h"
#include "devices/virtio/descriptor_chain.h"
#include "devices/virtio/virtqueue.h"
#include "base/util/rate_limited_log.h"

namespace kvmm {

// §5.2.3 feature bits.
inline constexpr uint64_t kVirtioBlkFSegMax = 1ull << 2;
inline constexpr uint64_t kVirtioBlkFRo = 1ull << 5;
inline constexpr uint64_t kVirtioBlkFBlkSize = 1ull << 6;
inline constexpr uint64_t kVirtioBlkFFlush = 1ull << 9;
inline constexpr uint64_t kVirtioBlkFDiscard = 1ull << 13;
inline constexpr uint64_t kVirtioBlkFWriteZeroes = 1ull << 14;

// §5.2.6 request types and status values.
inline constexpr uint32_t kVirtioBlkTIn = 0;
inline constexpr uint32_t kVirtioBlkTOut = 1;
inline constexpr uint32_t kVirtioBlkTFlush = 4;
inline constexpr uint32_t kVirtioBlkTGetId = 8;
inline constexpr uint32_t kVirtioBlkTDiscard = 11;
inline constexpr uint32_t kVirtioBlkTWriteZeroes = 13;
inline constexpr uint8_t kVirtioBlkSOk = 0;
inline constexpr uint8_t kVirtioBlkSIoErr = 1;
inline constexpr uint8_t kVirtioBlkSUnsupp = 2;

// §5.2.6: struct virtio_blk_req's header, and one discard/write-zeroes segment.
struct VirtioBlkHeader {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};
static_assert(sizeof(VirtioBlkHeader) == 16);
struct VirtioBlkDiscardSegment {
  uint64_t sector;
  uint32_t num_sectors;
  uint32_t flags;
};
static_assert(sizeof(VirtioBlkDiscardSegment) == 16);
inline constexpr uint32_t kVirtioBlkWriteZeroesFlagUnmap = 1;

struct BlockDiskInfo {
  uint64_t sectors = 0;  // Capacity in 512-byte sectors.
  bool read_only = false;
  std::array<uint8_t, 20> id{};  // GET_ID: the serial, zero-padded.
  uint32_t max_discard_sectors = 0;
  uint32_t max_write_zeroes_sectors = 0;
  // Address and length alignment host I/O needs (O_DIRECT: the image's
  // block size); 0 for none. Guest buffers that miss it go through an
  // aligned bounce buffer: the spec puts no alignment on the driver.
  uint32_t buffer_alignment = 0;
  // Requests in flight at once: the queue size (virtio 1.2 §2.7: a driver
  // cannot have more buffers available than descriptors).
  uint32_t max_in_flight = 256;
  // Bytes of bounce buffers held at once (see above).
  uint64_t bounce_budget = 16ull << 20;
};

struct BlockCompletion {
  uint16_t head = 0;
  uint32_t used_len = 0;
  uint8_t status = kVirtioBlkSOk;  // Already written to the chain; for logs and tests.
};

class BlockRequests {
 public:
  // `io` must outlive this object; `features` are the negotiated ones;
  // `log_prefix` starts each (rate-limited) log line.
  BlockRequests(BlockIo& io, BlockDiskInfo info, uint64_t features,
                std::string log_prefix = "virtio-blk: ");
  // Logs to `log`, which must outlive this object: the device's one limiter
  // for its whole life, so a driver resetting and re-activating the device
  // does not get a fresh budget of lines each time.
  BlockRequests(BlockIo& io, BlockDiskInfo info, uint64_t features, RateLimitedLog& log);
  // Gone with requests still in the engine (an I/O thread unwinding from an
  // error), it makes the engine forget them: their completions never reach
  // a later BlockRequests on the same engine (tags start again at 0), and
  // their bounce buffers stay with the engine until the kernel is done.
  ~BlockRequests();
  BlockRequests(const BlockRequests&) = delete;
  BlockRequests& operator=(const BlockRequests&) = delete;

  // Starts one request. Returns its completion when it needs no host I/O
  // (bad requests, GET_ID, FLUSH on a read-only disk); nullopt when it
  // completes later through reap().
  std::optional<BlockCompletion> start(const DescriptorChain& chain);
  // Call when io.completion_fd() is readable: requests whose host I/O
  // finished. Also submits FLUSHes that were waiting on them.
  std::vector<BlockCompletion> reap();
  // Requests started and not yet returned (including held-back FLUSHes and
  // requests waiting for bounce buffer space); never more than max_in_flight.
  size_t in_flight() const { return pending_.size(); }
  // Whether another request may be started (in_flight() < max_in_flight).
  bool full() const { return pending_.size() >= info_.max_in_flight; }
  // Whether the request with this head is in flight.
  bool head_in_flight(uint16_t head) const { return heads_.contains(head); }
  // Host I/O operations handed to the engine and not yet reaped.
  size_t submitted() const { return submitted_; }
  // Bounce buffer bytes held now, and the most ever held at once.
  uint64_t bounce_bytes() const { return bounce_bytes_; }
  uint64_t peak_bounce_bytes() const { return peak_bounce_bytes_; }

  // Reset and shutdown: ends every request in at most about `wait`, and
  // returns how many were left to the engine. Nothing is put in the used
  // ring (the driver is resetting) and no status byte is written after it
  // returns. In order:
  //  1. abandon_unsubmitted() forgets every request never handed to the
  //     engine (held FLUSHes, requests waiting for bounce space); their
  //     status bytes are left alone.
  //  2. cancel_submitted() asks the engine to end the rest (BlockIo::cancel);
  //     they come back through reap() (IOERR), as does what finishes anyway,
  //     and are dropped. Up to `wait` for them.
  //  3. forget_submitted(), for what did not come back in time: forgets the
  //     rest. The engine keeps their bounce buffers until the kernel is done
  //     with them and never reports them, so a later BlockRequests on the
  //     same engine never sees their tags.
  size_t stop(std::chrono::milliseconds wait);
  void abandon_unsubmitted();
  void cancel_submitted() {
    cancelled_ = true;
    io_.cancel();
  }
  void forget_submitted();
  // The engine's deferral (BlockIo::defer_submissions, flush): requests
  // started meanwhile reach the kernel together at flush().
  void defer_submissions(bool defer) { io_.defer_submissions(defer); }
  void flush() { io_.flush(); }

 private:
  struct FreeDeleter {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  // Shared with the engine (BlockIoRequest::keep_alive), which may hold it
  // past this object's life.
  using AlignedBuffer = std::shared_ptr<uint8_t>;

  struct Pending {
    uint16_t head;
    uint8_t* status;  // The chain's last writable byte (guest memory).
    uint32_t used_len;
    bool write;          // Counts toward FLUSH ordering.
    uint64_t write_seq;  // For writes: order of submission.
    const char* what;    // For the log: "read", "write", ...
    uint64_t sector;
    AlignedBuffer bounce = nullptr;  // Host I/O went through this buffer...
    uint64_t bounce_size = 0;        // ...of this many bytes (counted in bounce_bytes_)...
    std::vector<iovec> copy_back{};  // ...and a read is copied to these guest buffers.
    bool submitted = false;          // Handed to the engine.
  };
  // A misaligned read or write waiting for bounce budget.
  struct Waiting {
    uint64_t tag;
    BlockIoRequest request;
    uint64_t length;
    uint64_t size;  // Bounce bytes it needs.
  };

  BlockCompletion finish(uint16_t head, uint8_t* status_byte, uint32_t used_len, uint8_t status);
  BlockCompletion fail(const DescriptorChain& chain, uint8_t* status_byte, uint32_t used_len,
                       uint8_t status, const std::string& why);
  // Range check for `count` sectors at `sector`, overflow-safe.
  bool in_range(uint64_t sector, uint64_t count) const;
  std::optional<BlockCompletion> start_discard(const DescriptorChain& chain, uint32_t type,
                                               uint8_t* status_byte, uint32_t used_len);
  // Registers the request (a tag, FLUSH ordering) and hands it to the
  // engine, or queues it for bounce budget when its buffers are misaligned.
  void submit(BlockIoRequest request, Pending pending, uint64_t length = 0);
  void issue(uint64_t tag, BlockIoRequest request);
  bool misaligned(const BlockIoRequest& request) const;
  bool bounce_fits(uint64_t size) const;
  // Swaps the guest iovecs for an aligned bounce buffer (see
  // BlockDiskInfo::buffer_alignment); a write's data is copied in now.
  void bounce(BlockIoRequest& request, Pending& pending, uint64_t length, uint64_t size);
  void submit_waiting();
  void submit_ready_flushes();
  // Forgets a request's bookkeeping (head, FLUSH ordering, bounce bytes).
  void release(const Pending& pending);

  BlockIo& io_;
  const BlockDiskInfo info_;
  const uint64_t features_;
  uint64_t next_tag_ = 0;
  std::unordered_map<uint64_t, Pending> pending_;  // By tag; held flushes too.
  uint64_t next_write_seq_ = 0;
  std::set<uint64_t> writes_in_flight_;  // Their write_seq.
  // FLUSH tags waiting for every write with a smaller sequence number.
  std::deque<std::pair<uint64_t, uint64_t>> held_flushes_;  // (tag, write_seq bound)
  std::deque<Waiting> waiting_;          // FIFO: for bounce budget.
  std::unordered_map<uint16_t, uint32_t> heads_;  // Heads in flight (a count: see start()).
  size_t submitted_ = 0;
  bool cancelled_ = false;  // cancel_submitted() was called.
  uint64_t bounce_bytes_ = 0;
  uint64_t peak_bounce_bytes_ = 0;
  std::unique_ptr<RateLimitedLog> own_log_;  // When constructed with a prefix.
  RateLimitedLog& log_;
};

// What start_available() did.
struct BlockQueueStep {
  std::vector<BlockCompletion> completed;  // Finished without host I/O: add to the used ring.
  std::optional<std::string> broken;       // The queue is broken: why (for the log).
};

// Pops requests from `queue` and starts them on `requests` until the ring is
// empty (notifications re-enabled), `requests` is full (the rest stays in the
// ring until completions free slots) or the queue breaks. A bad chain
// completes with length 0; a head that is still in flight breaks the queue.
BlockQueueStep start_available(Virtqueue& queue, BlockRequests& requests, RateLimitedLog& log);

}  // namespace kvmm

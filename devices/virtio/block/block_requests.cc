#include "devices/virtio/block/block_requests.h"

#include <poll.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "devices/virtio/block/disk_image.h"
#include "devices/virtio/chain_io.h"

namespace kvmm {

namespace {

// The status byte: the last writable byte (§5.2.6). Empty buffers may trail.
uint8_t* status_byte_of(const DescriptorChain& chain) {
  for (auto it = chain.writable.rbegin(); it != chain.writable.rend(); ++it) {
    if (!it->host.empty()) return &it->host.back();
  }
  return nullptr;
}

}  // namespace

BlockRequests::BlockRequests(BlockIo& io, BlockDiskInfo info, uint64_t features,
                             std::string log_prefix)
    : io_(io),
      info_(info),
      features_(features),
      own_log_(std::make_unique<RateLimitedLog>(std::move(log_prefix))),
      log_(*own_log_) {}

BlockRequests::BlockRequests(BlockIo& io, BlockDiskInfo info, uint64_t features,
                             RateLimitedLog& log)
    : io_(io), info_(info), features_(features), log_(log) {}

BlockRequests::~BlockRequests() {
  if (submitted_ > 0) io_.forget_in_flight();
}

bool BlockRequests::in_range(uint64_t sector, uint64_t count) const {
  return sector <= info_.sectors && count <= info_.sectors - sector;
}

BlockCompletion BlockRequests::finish(uint16_t head, uint8_t* status_byte, uint32_t used_len,
                                      uint8_t status) {
  *status_byte = status;
  return BlockCompletion{head, used_len, status};
}

BlockCompletion BlockRequests::fail(const DescriptorChain& chain, uint8_t* status_byte,
                                    uint32_t used_len, uint8_t status, const std::string& why) {
  log_.log("request " + std::to_string(chain.head) + " failed: " + why);
  return finish(chain.head, status_byte, used_len, status);
}

std::optional<BlockCompletion> BlockRequests::start(const DescriptorChain& chain) {
  uint8_t* const status_byte = status_byte_of(chain);
  if (status_byte == nullptr) {
    log_.log("request " + std::to_string(chain.head) + " has no writable status byte; dropped");
    return BlockCompletion{chain.head, 0, kVirtioBlkSIoErr};
  }
  const uint32_t used_len = static_cast<uint32_t>(
      std::min<uint64_t>(chain.writable_bytes, std::numeric_limits<uint32_t>::max()));
  if (chain.writable_bytes > std::numeric_limits<uint32_t>::max()) {
    return fail(chain, status_byte, used_len, kVirtioBlkSIoErr, "writable buffers exceed 4 GiB");
  }

  ChainReader reader(chain.readable);
  const std::optional<VirtioBlkHeader> header = reader.read_obj<VirtioBlkHeader>();  // Guest-controlled.
  if (!header) {
    return fail(chain, status_byte, used_len, kVirtioBlkSIoErr,
                "readable part is " + std::to_string(chain.readable_bytes) +
                    " bytes, shorter than the 16-byte header");
  }
  const uint64_t sector = header->sector;
  const uint64_t data_in = chain.writable_bytes - 1;  // Writable bytes before the status.

  switch (header->type) {
    case kVirtioBlkTIn:
    case kVirtioBlkTOut: {
      const bool out = header->type == kVirtioBlkTOut;
      const char* what = out ? "write" : "read";
      if (out && info_.read_only) {
        return fail(chain, status_byte, used_len, kVirtioBlkSIoErr, "write to a read-only disk");
      }
      const uint64_t length = out ? reader.remaining() : data_in;
      if (length % kSectorSize != 0) {
        return fail(chain, status_byte, used_len, kVirtioBlkSIoErr,
                    std::string(what) + " of " + std::to_string(length) +
                        " bytes is not a multiple of 512");
      }
      if (!in_range(sector, length / kSectorSize)) {
        return fail(chain, status_byte, used_len, kVirtioBlkSIoErr,
                    std::string(what) + " of " + std::to_string(length / kSectorSize) +
                        " sectors at sector " + std::to_string(sector) + " is past the end (" +
                        std::to_string(info_.sectors) + " sectors)");
      }
      if (length == 0) return finish(chain.head, status_byte, used_len, kVirtioBlkSOk);
      BlockIoRequest request;
      request.op = out ? BlockIoOp::kWrite : BlockIoOp::kRead;
      request.offset = sector * kSectorSize;
      // In range by construction: the checks above measured these very bytes.
      request.iov = *(out ? iovecs_for(chain.readable, sizeof(VirtioBlkHeader), length)
                          : iovecs_for(chain.writable, 0, length));
      submit(std::move(request), Pending{chain.head, status_byte, used_len, out, 0, what, sector},
             length);
      return std::nullopt;
    }
    case kVirtioBlkTFlush: {
      if (info_.read_only) return finish(chain.head, status_byte, used_len, kVirtioBlkSOk);
      const uint64_t tag = next_tag_++;
      pending_.emplace(tag, Pending{chain.head, status_byte, used_len, false, 0, "flush", 0});
      ++heads_[chain.head];
      held_flushes_.emplace_back(tag, next_write_seq_);
      submit_ready_flushes();
      return std::nullopt;
    }
    case kVirtioBlkTGetId: {
      // §5.2.6: up to 20 bytes, not NUL-terminated when all 20 are used;
      // zeros fill the rest of a larger buffer, so every byte reported is written.
      ChainWriter writer(chain.writable);
      const uint64_t id_len = std::min<uint64_t>(data_in, info_.id.size());
      (void)writer.write(std::span(info_.id.data(), static_cast<size_t>(id_len)));
      static constexpr uint8_t kZeros[512] = {};
      while (writer.remaining() > 1) {
        const uint64_t piece = std::min<uint64_t>(writer.remaining() - 1, sizeof(kZeros));
        (void)writer.write(std::span(kZeros, static_cast<size_t>(piece)));
      }
      return finish(chain.head, status_byte, used_len, kVirtioBlkSOk);
    }
    case kVirtioBlkTDiscard:
    case kVirtioBlkTWriteZeroes:
      return start_discard(chain, header->type, status_byte, used_len);
    default:
      return fail(chain, status_byte, used_len, kVirtioBlkSUnsupp,
                  "unsupported request type " + std::to_string(header->type));
  }
}

std::optional<BlockCompletion> BlockRequests::start_discard(const DescriptorChain& chain,
                                                            uint32_t type, uint8_t* status_byte,
                                                            uint32_t used_len) {
  const bool discard = type == kVirtioBlkTDiscard;
  const char* what = discard ? "discard" : "write-zeroes";
  if (!(features_ & (discard ? kVirtioBlkFDiscard : kVirtioBlkFWriteZeroes))) {
    return fail(chain, status_byte, used_len, kVirtioBlkSUnsupp,
                std::string(what) + " without the feature negotiated");
  }
  if (info_.read_only) {
    return fail(chain, status_byte, used_len, kVirtioBlkSIoErr,
                std::string(what) + " on a read-only disk");
  }
  ChainReader reader(chain.readable);
  (void)reader.skip(sizeof(VirtioBlkHeader));  // start() read it.
  // max_discard_seg = max_write_zeroes_seg = 1 (§5.2.4): exactly one segment.
  if (reader.remaining() != sizeof(VirtioBlkDiscardSegment)) {
    return fail(chain, status_byte, used_len, kVirtioBlkSIoErr,
                std::string(what) + " carries " + std::to_string(reader.remaining()) +
                    " bytes of segments; exactly one 16-byte segment is accepted");
  }
  const VirtioBlkDiscardSegment segment = *reader.read_obj<VirtioBlkDiscardSegment>();  // Guest-controlled.
  // §5.2.6.2: UNMAP is meaningless for discard; other flag bits are reserved.
  const uint32_t allowed = discard ? 0 : kVirtioBlkWriteZeroesFlagUnmap;
  if (segment.flags & ~allowed) {
    return fail(chain, status_byte, used_len, kVirtioBlkSUnsupp,
                std::string(what) + " with unsupported flags " + std::to_string(segment.flags));
  }
  const uint32_t max = discard ? info_.max_discard_sectors : info_.max_write_zeroes_sectors;
  if (segment.num_sectors > max || !in_range(segment.sector, segment.num_sectors)) {
    return fail(chain, status_byte, used_len, kVirtioBlkSIoErr,
                std::string(what) + " of " + std::to_string(segment.num_sectors) +
                    " sectors at sector " + std::to_string(segment.sector) +
                    " is too long or past the end");
  }
  if (segment.num_sectors == 0) return finish(chain.head, status_byte, used_len, kVirtioBlkSOk);
  BlockIoRequest request;
  request.op = discard ? BlockIoOp::kDiscard
               : (segment.flags & kVirtioBlkWriteZeroesFlagUnmap) ? BlockIoOp::kWriteZeroesUnmap
                                                                  : BlockIoOp::kWriteZeroes;
  request.offset = segment.sector * kSectorSize;
  request.length = uint64_t{segment.num_sectors} * kSectorSize;
  submit(std::move(request), Pending{chain.head, status_byte, used_len, true, 0, what, segment.sector});
  return std::nullopt;
}

bool BlockRequests::misaligned(const BlockIoRequest& request) const {
  const uint64_t alignment = info_.buffer_alignment;
  if (alignment == 0) return false;
  for (const iovec& v : request.iov) {
    if (reinterpret_cast<uintptr_t>(v.iov_base) % alignment != 0 || v.iov_len % alignment != 0) {
      return true;
    }
  }
  return false;
}

bool BlockRequests::bounce_fits(uint64_t size) const {
  // One request larger than the whole budget runs alone.
  if (size > info_.bounce_budget) return bounce_bytes_ == 0;
  return bounce_bytes_ <= info_.bounce_budget && size <= info_.bounce_budget - bounce_bytes_;
}

void BlockRequests::bounce(BlockIoRequest& request, Pending& pending, uint64_t length,
                           uint64_t size) {
  auto* buffer = static_cast<uint8_t*>(std::aligned_alloc(info_.buffer_alignment, size));
  if (buffer == nullptr) throw std::bad_alloc();
  pending.bounce = AlignedBuffer(buffer, FreeDeleter{});
  pending.bounce_size = size;
  bounce_bytes_ += size;
  peak_bounce_bytes_ = std::max(peak_bounce_bytes_, bounce_bytes_);
  uint8_t* cursor = pending.bounce.get();
  if (request.op == BlockIoOp::kWrite) {
    for (const iovec& v : request.iov) {
      std::memcpy(cursor, v.iov_base, v.iov_len);
      cursor += v.iov_len;
    }
  } else {
    pending.copy_back = std::move(request.iov);
  }
  request.iov = {iovec{pending.bounce.get(), static_cast<size_t>(length)}};
}

void BlockRequests::submit(BlockIoRequest request, Pending pending, uint64_t length) {
  const uint64_t tag = next_tag_++;
  if (pending.write) {
    // Sequenced now, even if it waits for bounce space: a later FLUSH covers it.
    pending.write_seq = next_write_seq_++;
    writes_in_flight_.insert(pending.write_seq);
  }
  ++heads_[pending.head];
  const bool bounced = misaligned(request);
  pending_.emplace(tag, std::move(pending));
  if (!bounced) {
    issue(tag, std::move(request));
    return;
  }
  // Rounded up for aligned_alloc; the I/O itself is `length` (whole sectors).
  const uint64_t alignment = info_.buffer_alignment;
  const uint64_t size = (length + alignment - 1) / alignment * alignment;
  waiting_.push_back(Waiting{tag, std::move(request), length, size});
  submit_waiting();
}

void BlockRequests::submit_waiting() {
  // FIFO, so a large request is not starved by smaller ones behind it.
  while (!waiting_.empty() && bounce_fits(waiting_.front().size)) {
    Waiting next = std::move(waiting_.front());
    waiting_.pop_front();
    bounce(next.request, pending_.at(next.tag), next.length, next.size);
    issue(next.tag, std::move(next.request));
  }
}

void BlockRequests::issue(uint64_t tag, BlockIoRequest request) {
  request.tag = tag;
  Pending& pending = pending_.at(tag);
  pending.submitted = true;
  request.keep_alive = pending.bounce;
  ++submitted_;
  io_.submit(std::move(request));
}

void BlockRequests::submit_ready_flushes() {
  while (!held_flushes_.empty()) {
    const auto [tag, bound] = held_flushes_.front();
    if (!writes_in_flight_.empty() && *writes_in_flight_.begin() < bound) return;
    held_flushes_.pop_front();
    BlockIoRequest request;
    request.op = BlockIoOp::kFlush;
    issue(tag, std::move(request));
  }
}

void BlockRequests::release(const Pending& p) {
  if (p.write) writes_in_flight_.erase(p.write_seq);
  if (p.submitted) --submitted_;
  bounce_bytes_ -= p.bounce_size;
  if (auto it = heads_.find(p.head); it != heads_.end() && --it->second == 0) heads_.erase(it);
}

std::vector<BlockCompletion> BlockRequests::reap() {
  std::vector<BlockCompletion> out;
  for (const BlockIoCompletion& done : io_.reap()) {
    auto it = pending_.find(done.tag);
    if (it == pending_.end()) continue;  // Cannot happen: every tag submitted is pending.
    Pending p = std::move(it->second);
    pending_.erase(it);
    uint8_t status = kVirtioBlkSOk;
    if (done.result < 0 && cancelled_) {
      status = kVirtioBlkSIoErr;  // -ECANCELED, -EINTR: stop() asked for it; nothing to log.
    } else if (done.result < 0) {
      // Host trouble (ENOSPC, EIO): the guest sees an I/O error and goes on.
      status = kVirtioBlkSIoErr;
      log_.log(std::string(p.what) + " at sector " + std::to_string(p.sector) +
               " failed on the host: " + std::strerror(-done.result));
    }
    if (status == kVirtioBlkSOk && !p.copy_back.empty()) {
      const uint8_t* cursor = p.bounce.get();
      for (const iovec& v : p.copy_back) {
        std::memcpy(v.iov_base, cursor, v.iov_len);
        cursor += v.iov_len;
      }
    }
    release(p);
    out.push_back(finish(p.head, p.status, p.used_len, status));
  }
  submit_waiting();
  submit_ready_flushes();
  return out;
}

void BlockRequests::abandon_unsubmitted() {
  waiting_.clear();
  held_flushes_.clear();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.submitted) {
      ++it;
      continue;
    }
    release(it->second);
    it = pending_.erase(it);
  }
}

size_t BlockRequests::stop(std::chrono::milliseconds wait) {
  abandon_unsubmitted();
  cancel_submitted();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (submitted_ > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd done{io_.completion_fd(), POLLIN, 0};
    (void)::poll(&done, 1, static_cast<int>(left.count()));
    (void)reap();
  }
  const size_t left_over = submitted_;
  if (left_over > 0) forget_submitted();
  return left_over;
}

void BlockRequests::forget_submitted() {
  io_.forget_in_flight();
  abandon_unsubmitted();
  for (const auto& [tag, pending] : pending_) release(pending);
  pending_.clear();
}

BlockQueueStep start_available(Virtqueue& queue, BlockRequests& requests, RateLimitedLog& log) {
  BlockQueueStep step;
  // The pass's requests go to the kernel together, after it. Should the pass
  // throw, what it queued goes with the next submission or reap().
  struct Deferral {
    BlockRequests& requests;
    explicit Deferral(BlockRequests& r) : requests(r) { requests.defer_submissions(true); }
    ~Deferral() { requests.defer_submissions(false); }
    Deferral(const Deferral&) = delete;
    Deferral& operator=(const Deferral&) = delete;
  } deferral(requests);
  // Full: the rest stays in the ring; the caller comes back after reap().
  while (!requests.full()) {
    Virtqueue::PopResult popped = queue.pop();
    if (popped.status == Virtqueue::PopStatus::kEmpty) {
      if (queue.enable_notification()) continue;
      break;
    }
    if (popped.status == Virtqueue::PopStatus::kBroken) {
      step.broken = popped.error;
      break;
    }
    if (requests.head_in_flight(popped.chain.head)) {
      // Guest-controlled: the driver offered a buffer the device still owns.
      step.broken = "head " + std::to_string(popped.chain.head) +
                    " made available again while still in flight (virtio 1.2 §2.7)";
      break;
    }
    if (popped.status == Virtqueue::PopStatus::kBadChain) {
      log.log("bad descriptor chain " + std::to_string(popped.chain.head) + ": " + popped.error);
      step.completed.push_back(BlockCompletion{popped.chain.head, 0, kVirtioBlkSIoErr});
      continue;
    }
    if (std::optional<BlockCompletion> done = requests.start(popped.chain)) {
      step.completed.push_back(*done);
    }
  }
  requests.flush();
  return step;
}

}  // namespace kvmm

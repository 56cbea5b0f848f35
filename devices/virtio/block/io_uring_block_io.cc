// The io_uring engine: up to `depth` operations in the kernel at once, a
// backlog beyond that, completions announced through an eventfd registered
// with the ring (io_uring_register_eventfd). The ring is locked down to the
// disk and the engine's opcodes (io_uring_ring.h).
#include <liburing.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "base/util/error.h"
#include "base/util/event_fd.h"
#include "base/util/log.h"
#include "devices/virtio/block/block_io.h"
#include "devices/virtio/block/block_io_operation.h"
#include "devices/virtio/block/io_uring_ring.h"

namespace kvmm {

namespace {

class IoUringBlockIo final : public BlockIo {
 public:
  IoUringBlockIo(int fd, unsigned depth, RingLockdown lockdown) : depth_(depth) {
    restricted_ = open_disk_ring(ring_, fd, depth, done_fd_.get(), lockdown) == RingRestrictions::kApplied;
    if (!restricted_ && lockdown == RingLockdown::kRestrict) {
      static std::once_flag said;
      std::call_once(said, [] {
        log_line(
            "virtio-blk: this kernel has no io_uring restrictions (IORING_REGISTER_RESTRICTIONS, "
            "Linux 5.10); disk rings run unrestricted");
      });
    }
  }

  ~IoUringBlockIo() override {
    // The kernel may still write into guest memory and bounce buffers (held
    // by the operations): cancel, then wait for every operation, forgotten
    // ones too. io_uring_queue_exit() would not wait for io-wq workers.
    cancel();
    while (!operations_.empty()) {
      pollfd p{done_fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, kSlowMs) == 0) {
        log_line("virtio-blk: still waiting for " + std::to_string(operations_.size()) +
                 " disk operations the kernel cannot cancel");
      }
      reap();
    }
    io_uring_queue_exit(&ring_);
  }

  const char* name() const override { return "io_uring"; }

  void submit(BlockIoRequest request) override {
    const uint64_t key = next_key_++;
    operations_.emplace(key, BlockIoOperation(std::move(request)));
    backlog_.push_back(key);
    if (!deferred_) flush_backlog();
  }

  void defer_submissions(bool defer) override { deferred_ = defer; }
  void flush() override { flush_backlog(); }

  int completion_fd() const override { return done_fd_.get(); }

  std::vector<BlockIoCompletion> reap() override {
    done_fd_.consume();
    std::vector<BlockIoCompletion> out;
    out.swap(cancelled_);
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      const uint64_t key = io_uring_cqe_get_data64(cqe);
      const int result = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      // A cancel's own answer (0, -ENOENT: already done, -EALREADY: running
      // and signalled): the operation it named completes by itself.
      if (key & kCancelKey) continue;
      --in_kernel_;
      auto it = operations_.find(key);
      if (it == operations_.end()) continue;  // Cannot happen: every sqe carries a live key.
      if (key < forgotten_below_) {
        operations_.erase(it);  // Its buffers (keep_alive) go only now.
        --forgotten_;
        continue;
      }
      std::optional<int> done = it->second.on_result(result);
      // Cancelled between two steps (a short transfer): no next step.
      if (!done && key < cancelled_below_) done = -ECANCELED;
      if (done) {
        out.push_back(BlockIoCompletion{it->second.tag(), *done});
        operations_.erase(it);
      } else {
        backlog_.push_front(key);  // Its next step goes before newer work.
      }
    }
    flush_backlog();
    return out;
  }

  size_t in_flight() const override { return operations_.size() - forgotten_ + cancelled_.size(); }

  void cancel() override {
    cancelled_below_ = next_key_;
    for (const uint64_t key : backlog_) {
      auto it = operations_.find(key);
      cancelled_.push_back(BlockIoCompletion{it->second.tag(), -ECANCELED});
      operations_.erase(it);
    }
    backlog_.clear();
    // Everything left is in the kernel (forgotten operations too: asking
    // again is harmless and helps a destructor waiting for them).
    for (const auto& [key, operation] : operations_) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) {
        // The submission ring is full of cancels: hand them over and go on.
        // A cancel that cannot be submitted now only means that operation
        // ends by itself; reap() submits what stays in the ring.
        (void)io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
        if (sqe == nullptr) break;
      }
      io_uring_prep_cancel64(sqe, key, 0);
      io_uring_sqe_set_data64(sqe, key | kCancelKey);
      // A restricted ring requires the flag on every SQE (io_uring_ring.cc);
      // an unrestricted one, perhaps on an older kernel, gets a plain cancel.
      if (restricted_) sqe->flags |= IOSQE_FIXED_FILE;
    }
    if (io_uring_sq_ready(&ring_) > 0) (void)io_uring_submit(&ring_);
    if (!cancelled_.empty()) done_fd_.signal();
  }

  void forget_in_flight() override {
    forgotten_below_ = cancelled_below_ = next_key_;
    cancelled_.clear();
    for (const uint64_t key : backlog_) operations_.erase(key);
    backlog_.clear();
    forgotten_ = operations_.size();  // All in the kernel now.
  }

 private:
  // Moves backlog entries into the ring while there is room.
  void flush_backlog() {
    unsigned queued = 0;
    while (!backlog_.empty() && in_kernel_ < depth_) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) break;
      const uint64_t key = backlog_.front();
      backlog_.pop_front();
      prepare(sqe, operations_.at(key).next_step());
      io_uring_sqe_set_data64(sqe, key);
      ++in_kernel_;
      ++queued;
    }
    // Also entries an earlier, partial submit left in the ring.
    if (queued == 0 && io_uring_sq_ready(&ring_) == 0) return;
    int wait_ms = 1;
    int waited_ms = 0;
    while (true) {
      const int submitted = io_uring_submit(&ring_);
      if (submitted >= 0) return;
      if (submitted == -EINTR) continue;
      if (submitted != -EAGAIN && submitted != -EBUSY) {
        // Otherwise io_uring_submit fails only on a broken ring setup
        // (EBADF, EFAULT): a VMM bug.
        throw Error(std::string("io_uring_submit failed: ") + std::strerror(-submitted));
      }
      // EAGAIN: the kernel is short of memory for requests; EBUSY: the
      // completion queue overflowed and wants reaping (io_uring_enter(2)).
      // Never spin: the entries stay in the submission ring, and every
      // reap() and submit() flushes it again. With operations in the
      // kernel, their completion wakes the I/O thread, which reaps and
      // retries. With none, wait a little (1, 2, 4, … ms, at most about a
      // second in all) and retry; after that the next request or
      // completion retries.
      const unsigned unsubmitted = io_uring_sq_ready(&ring_);
      if (in_kernel_ > unsubmitted || waited_ms >= kMaxSubmitWaitMs) return;
      pollfd done{done_fd_.get(), POLLIN, 0};
      ::poll(&done, 1, wait_ms);
      waited_ms += wait_ms;
      wait_ms = std::min(wait_ms * 2, 128);
    }
  }

  // Bound on flush_backlog()'s wait for the kernel to take requests.
  static constexpr int kMaxSubmitWaitMs = 1000;
  // How often the destructor says it is still waiting.
  static constexpr int kSlowMs = 5000;
  // Marks a cancel's user_data (operation keys count up from 0 and never
  // reach it).
  static constexpr uint64_t kCancelKey = 1ull << 63;

  void prepare(io_uring_sqe* sqe, const BlockIoOperation::Step& step) {
    using Call = BlockIoOperation::Step::Call;
    switch (step.call) {
      case Call::kPreadv:
        io_uring_prep_readv(sqe, kDiskFile, step.iov, static_cast<unsigned>(step.iov_count),
                            step.offset);
        break;
      case Call::kPwritev:
        io_uring_prep_writev(sqe, kDiskFile, step.iov, static_cast<unsigned>(step.iov_count),
                             step.offset);
        break;
      case Call::kFdatasync: io_uring_prep_fsync(sqe, kDiskFile, IORING_FSYNC_DATASYNC); break;
      case Call::kFallocate:
        io_uring_prep_fallocate(sqe, kDiskFile, step.mode, step.offset, step.length);
        break;
    }
    // The disk is fixed file 0 (io_uring_ring.h); a restricted ring refuses
    // any other file.
    sqe->flags |= IOSQE_FIXED_FILE;
  }

  // The disk's index among the ring's fixed files.
  static constexpr int kDiskFile = 0;
  const unsigned depth_;
  io_uring ring_{};
  bool deferred_ = false;    // submit() queues only (defer_submissions).
  bool restricted_ = false;  // The ring carries io_uring_ring.h's restrictions.
  EventFd done_fd_;
  uint64_t next_key_ = 0;
  unsigned in_kernel_ = 0;  // Forgotten operations too: they hold their slot.
  // Operations with smaller keys were cancelled (they take no further step)
  // or forgotten (their completions are dropped).
  uint64_t cancelled_below_ = 0;
  uint64_t forgotten_below_ = 0;
  size_t forgotten_ = 0;  // Forgotten operations still in the kernel.
  // Cancelled before reaching the kernel, for the next reap().
  std::vector<BlockIoCompletion> cancelled_;
  // Keyed so a BlockIoOperation (and the iovecs the kernel reads) never moves
  // while in the ring: unordered_map nodes are stable.
  std::unordered_map<uint64_t, BlockIoOperation> operations_;
  std::deque<uint64_t> backlog_;
};

}  // namespace

bool io_uring_supported() {
  io_uring ring{};
  if (io_uring_queue_init(2, &ring, 0) < 0) return false;
  io_uring_queue_exit(&ring);
  return true;
}

std::unique_ptr<BlockIo> make_io_uring_block_io(int fd, unsigned depth, RingLockdown lockdown) {
  return std::make_unique<IoUringBlockIo>(fd, depth, lockdown);
}

}  // namespace kvmm

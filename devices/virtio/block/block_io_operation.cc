#include "devices/virtio/block/block_io_operation.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

namespace kvmm {

namespace {

// A shared buffer of zeros for the write-zeros fallback, aligned for O_DIRECT.
constexpr size_t kZeroBufferSize = 64 * 1024;
constexpr size_t kZeroIovMax = 256;  // 16 MiB per call; well under IOV_MAX.

const uint8_t* zero_buffer() {
  static const uint8_t* buffer = [] {
    void* p = std::aligned_alloc(4096, kZeroBufferSize);
    if (p == nullptr) std::abort();  // At first use, 64 KiB: a host without it is unusable anyway.
    std::fill_n(static_cast<uint8_t*>(p), kZeroBufferSize, 0);
    return static_cast<const uint8_t*>(p);
  }();
  return buffer;
}

// The file system cannot do this kind of fallocate (EOPNOTSUPP; EINVAL from
// some file systems and block devices for modes they do not know).
bool unsupported(int64_t result) { return result == -EOPNOTSUPP || result == -EINVAL; }

void advance(std::vector<iovec>& iov, uint64_t count) {
  size_t drop = 0;
  while (drop < iov.size() && count >= iov[drop].iov_len) {
    count -= iov[drop].iov_len;
    ++drop;
  }
  iov.erase(iov.begin(), iov.begin() + static_cast<std::ptrdiff_t>(drop));
  if (count > 0 && !iov.empty()) {
    iov[0].iov_base = static_cast<uint8_t*>(iov[0].iov_base) + count;
    iov[0].iov_len -= count;
  }
}

}  // namespace

BlockIoOperation::BlockIoOperation(BlockIoRequest request) : request_(std::move(request)) {
  switch (request_.op) {
    case BlockIoOp::kRead:
    case BlockIoOp::kWrite: stage_ = Stage::kTransfer; break;
    case BlockIoOp::kFlush: stage_ = Stage::kFlush; break;
    case BlockIoOp::kDiscard:
    case BlockIoOp::kWriteZeroesUnmap: stage_ = Stage::kPunch; break;
    case BlockIoOp::kWriteZeroes: stage_ = Stage::kZeroRange; break;
  }
  // Zero-length pieces would read as end of file; the device never sends them.
  std::erase_if(request_.iov, [](const iovec& v) { return v.iov_len == 0; });
}

BlockIoOperation::Step BlockIoOperation::next_step() {
  Step step{};
  switch (stage_) {
    case Stage::kTransfer:
      step.call = request_.op == BlockIoOp::kRead ? Step::Call::kPreadv : Step::Call::kPwritev;
      step.iov = request_.iov.data();
      step.iov_count = static_cast<int>(std::min<size_t>(request_.iov.size(), IOV_MAX));
      step.offset = request_.offset;
      break;
    case Stage::kFlush: step.call = Step::Call::kFdatasync; break;
    case Stage::kPunch:
    case Stage::kZeroRange:
      step.call = Step::Call::kFallocate;
      step.offset = request_.offset;
      step.length = request_.length;
      step.mode = FALLOC_FL_KEEP_SIZE |
                  (stage_ == Stage::kPunch ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
      break;
    case Stage::kWriteZeros: {
      uint64_t left = request_.length - zeros_done_;
      zero_iov_.clear();
      while (left > 0 && zero_iov_.size() < kZeroIovMax) {
        const size_t piece = static_cast<size_t>(std::min<uint64_t>(left, kZeroBufferSize));
        zero_iov_.push_back(iovec{const_cast<uint8_t*>(zero_buffer()), piece});  // Only read from.
        left -= piece;
      }
      step.call = Step::Call::kPwritev;
      step.iov = zero_iov_.data();
      step.iov_count = static_cast<int>(zero_iov_.size());
      step.offset = request_.offset + zeros_done_;
      break;
    }
  }
  return step;
}

std::optional<int> BlockIoOperation::on_result(int64_t result) {
  if (result == -EINTR || result == -EAGAIN) return std::nullopt;  // Same step again.
  switch (stage_) {
    case Stage::kTransfer:
      if (request_.iov.empty()) return 0;
      if (result < 0) return static_cast<int>(result);
      if (result == 0) return -EIO;  // End of file inside the disk: the image shrank.
      advance(request_.iov, static_cast<uint64_t>(result));
      request_.offset += static_cast<uint64_t>(result);
      if (request_.iov.empty()) return 0;
      return std::nullopt;
    case Stage::kFlush:
      return result < 0 ? static_cast<int>(result) : 0;
    case Stage::kPunch:
      if (result >= 0) return 0;
      if (!unsupported(result)) return static_cast<int>(result);
      if (request_.op == BlockIoOp::kDiscard) return 0;  // A hint the host cannot take.
      stage_ = Stage::kZeroRange;
      return std::nullopt;
    case Stage::kZeroRange:
      if (result >= 0) return 0;
      if (!unsupported(result)) return static_cast<int>(result);
      stage_ = Stage::kWriteZeros;
      return request_.length == 0 ? std::optional<int>(0) : std::nullopt;
    case Stage::kWriteZeros:
      if (result < 0) return static_cast<int>(result);
      if (result == 0) return -EIO;
      zeros_done_ += static_cast<uint64_t>(result);
      return zeros_done_ >= request_.length ? std::optional<int>(0) : std::nullopt;
  }
  return -EIO;
}

int run_blocking(int fd, BlockIoOperation& op) {
  while (true) {
    const BlockIoOperation::Step step = op.next_step();
    int64_t result = 0;
    switch (step.call) {
      case BlockIoOperation::Step::Call::kPreadv:
        result = ::preadv(fd, step.iov, step.iov_count, static_cast<off_t>(step.offset));
        break;
      case BlockIoOperation::Step::Call::kPwritev:
        result = ::pwritev(fd, step.iov, step.iov_count, static_cast<off_t>(step.offset));
        break;
      case BlockIoOperation::Step::Call::kFdatasync: result = ::fdatasync(fd); break;
      case BlockIoOperation::Step::Call::kFallocate:
        result = ::fallocate(fd, step.mode, static_cast<off_t>(step.offset),
                             static_cast<off_t>(step.length));
        break;
    }
    if (result < 0) result = -errno;
    if (std::optional<int> done = op.on_result(result)) return *done;
  }
}

}  // namespace kvmm

#pragma once
// One BlockIoRequest as a sequence of system calls, shared by both engines
// so they behave alike: continuing short transfers, and falling back from
// punching a hole to FALLOC_FL_ZERO_RANGE to writing zeros when the file
// system refuses (EOPNOTSUPP). An engine asks next_step() what to do, does
// it (synchronously or through io_uring), and feeds the result to
// on_result() until that returns the final result.
#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "devices/virtio/block/block_io.h"

namespace kvmm {

class BlockIoOperation {
 public:
  explicit BlockIoOperation(BlockIoRequest request);

  struct Step {
    enum class Call { kPreadv, kPwritev, kFdatasync, kFallocate } call;
    const iovec* iov = nullptr;  // kPreadv, kPwritev.
    int iov_count = 0;
    uint64_t offset = 0;
    uint64_t length = 0;  // kFallocate.
    int mode = 0;         // kFallocate.
  };
  // What to call next. Pointers stay valid until on_result().
  Step next_step();
  // The call's result (bytes, 0, or -errno). Returns the request's final
  // result (0 or -errno) once it is done, nullopt while steps remain.
  std::optional<int> on_result(int64_t result);

  uint64_t tag() const { return request_.tag; }

 private:
  enum class Stage { kTransfer, kFlush, kPunch, kZeroRange, kWriteZeros };

  BlockIoRequest request_;
  Stage stage_;
  uint64_t zeros_done_ = 0;
  std::vector<iovec> zero_iov_;
};

// Runs `op` to completion with blocking system calls (the thread engine).
int run_blocking(int fd, BlockIoOperation& op);

}  // namespace kvmm

#include "devices/virtio/block/block_io.h"

#include <cstdlib>
#include <string_view>

#include "base/util/error.h"
#include "base/util/log.h"

namespace kvmm {

std::unique_ptr<BlockIo> make_block_io(int fd, BlockIoEngine engine, unsigned depth) {
  if (engine == BlockIoEngine::kAuto) {
    // For tests and for comparing the engines on one host.
    const char* forced = std::getenv("KVMM_BLOCK_IO");
    if (forced != nullptr && std::string_view(forced) == "thread") engine = BlockIoEngine::kThread;
    if (forced != nullptr && std::string_view(forced) == "io_uring") engine = BlockIoEngine::kIoUring;
  }
  switch (engine) {
    case BlockIoEngine::kThread: return make_thread_block_io(fd);
    case BlockIoEngine::kIoUring: return make_io_uring_block_io(fd, depth);
    case BlockIoEngine::kAuto: break;
  }
  try {
    return make_io_uring_block_io(fd, depth);
  } catch (const Error& e) {
    log_line(std::string("virtio-blk: ") + e.what() + "; using worker threads for disk I/O instead");
    return make_thread_block_io(fd);
  }
}

}  // namespace kvmm

#pragma once
// Host I/O for a virtio-blk disk: asynchronous operations on one fd, several
// in flight, completions announced on an eventfd the device's I/O thread
// polls. Two engines: io_uring (liburing), and a worker thread doing
// preadv/pwritev/fdatasync/fallocate for hosts where io_uring_queue_init
// fails (seccomp, old or locked-down kernels).
//
// Semantics both engines share:
//  - A read or write completes with its full length or a negative errno;
//    short transfers are continued internally, an unexpected end of file is
//    -EIO.
//  - kDiscard punches a hole (a hint: a file system that cannot still
//    completes it successfully).
//  - kWriteZeroes makes the range read as zeros: FALLOC_FL_ZERO_RANGE, or
//    writing zeros where the file system refuses it. kWriteZeroesUnmap tries
//    FALLOC_FL_PUNCH_HOLE|KEEP_SIZE first, then the same.
//  - kFlush is fdatasync. It orders nothing: callers submit it only after the
//    writes it must cover have completed.
//
// Threads: submit() and reap() are called on one thread (the device's I/O
// thread); the engine may use its own threads internally. Buffers named by
// iovecs must stay valid until the operation completes (or, once forgotten,
// until the kernel is done with it: see BlockIoRequest::keep_alive).
//
// Reset and shutdown: cancel() ends what it can at once, and
// forget_in_flight() lets the caller move on from what it cannot. Work not
// yet handed to the kernel is always dropped at once. Work in the kernel:
//  - io_uring: IORING_OP_ASYNC_CANCEL for each operation. Whatever waits
//    (poll-driven I/O: pipes, sockets, some devices) ends with -ECANCELED;
//    buffered I/O on a regular file that an io-wq worker is already running
//    ends -EINTR where it sleeps interruptibly, else runs to its end: then the
//    bound is the I/O itself (one disk operation per queue entry).
//  - thread: an operation already inside preadv/pwritev/fdatasync/fallocate
//    cannot be interrupted portably and runs to its end.
// Destroying an engine cancels what it can and then waits for the rest, as
// the kernel may still write into the buffers.
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace kvmm {

enum class BlockIoOp { kRead, kWrite, kFlush, kDiscard, kWriteZeroes, kWriteZeroesUnmap };

struct BlockIoRequest {
  BlockIoOp op = BlockIoOp::kRead;
  uint64_t offset = 0;     // Bytes; reads, writes, discards and zeroes.
  uint64_t length = 0;     // Bytes; discards and zeroes (reads/writes: the iovecs).
  std::vector<iovec> iov;  // Reads and writes.
  uint64_t tag = 0;        // Returned with the completion.
  // Owns memory the iovecs point into (a bounce buffer), if any: the engine
  // holds it until the kernel is done with the operation, even when the
  // caller has forgotten it (forget_in_flight()).
  std::shared_ptr<void> keep_alive;
};

struct BlockIoCompletion {
  uint64_t tag = 0;
  int result = 0;  // 0 on success, or -errno.
};

enum class BlockIoEngine {
  kAuto,     // io_uring, or the thread engine when io_uring is unavailable or KVMM_BLOCK_IO=thread.
  kIoUring,  // io_uring or throw Error.
  kThread,
};

class BlockIo {
 public:
  virtual ~BlockIo() = default;
  virtual const char* name() const = 0;
  // Never blocks on the I/O itself; an engine with a full ring keeps a backlog.
  virtual void submit(BlockIoRequest request) = 0;
  // Readable (an eventfd) when reap() has completions.
  virtual int completion_fd() const = 0;
  // Completions finished since the last call; never blocks.
  virtual std::vector<BlockIoCompletion> reap() = 0;
  // Operations submitted and not yet returned by reap() (and not forgotten).
  virtual size_t in_flight() const = 0;
  // Asks every operation submitted so far to end now; never blocks. Those
  // not yet in the kernel complete with -ECANCELED; those in the kernel
  // complete with -ECANCELED or -EINTR where the kernel can stop them, else
  // with their own result when they finish (see above). Completions still
  // come through reap(); a multi-step operation takes no further step.
  virtual void cancel() = 0;
  // Forgets every operation submitted so far (after cancel(), for those that
  // did not end in time): reap() never returns them and in_flight() no
  // longer counts them. Those still in the kernel keep their keep_alive and
  // their slot in the engine's depth until they finish, so forgotten work
  // never piles up beyond one queue's worth.
  virtual void forget_in_flight() = 0;
  // While deferred, submit() only queues its request, and flush() hands all
  // that are queued to the kernel at once: start_available() defers for one
  // pass over the ring, so a pass costs one system call instead of one a
  // request. reap() flushes too, and so does submit() once not deferred.
  // Engines without a submission queue (the thread engine) ignore both.
  virtual void defer_submissions(bool defer) { (void)defer; }
  virtual void flush() {}
};

// `fd` must outlive the engine. `depth` bounds operations in flight in the
// kernel (the queue size). Throws Error when no engine can start.
std::unique_ptr<BlockIo> make_block_io(int fd, BlockIoEngine engine, unsigned depth);

std::unique_ptr<BlockIo> make_thread_block_io(int fd);
// Whether this process may use io_uring (it may be compiled out of the
// kernel, disabled by sysctl, or blocked by seccomp, as in many containers).
bool io_uring_supported();
// Whether the io_uring engine locks its ring down (io_uring_ring.h): kSkip is
// for tests of the unrestricted path, the one older kernels take.
enum class RingLockdown { kRestrict, kSkip };
// Throws Error when the ring cannot be set up. The ring is restricted to `fd`
// and the engine's opcodes where the kernel can.
std::unique_ptr<BlockIo> make_io_uring_block_io(int fd, unsigned depth,
                                                RingLockdown lockdown = RingLockdown::kRestrict);

}  // namespace kvmm

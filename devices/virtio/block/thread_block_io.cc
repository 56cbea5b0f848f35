// The fallback engine: a few worker threads doing blocking system calls,
// taking requests in submission order. Several, so a slow device (O_DIRECT,
// a real disk) still sees more than one request at a time; ordering between
// requests is the caller's business (BlockRequests holds FLUSH back).
// cancel() drops the jobs no worker has started; a job inside its system
// call cannot be interrupted portably (a signal would not stop a disk read
// either) and runs to its end.
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/util/event_fd.h"
#include "base/util/stop_signals.h"
#include "base/util/thread_launcher.h"
#include "base/util/thread_role.h"
#include "devices/virtio/block/block_io.h"
#include "devices/virtio/block/block_io_operation.h"

namespace kvmm {

namespace {

class ThreadBlockIo final : public BlockIo {
 public:
  static constexpr int kWorkers = 4;

  explicit ThreadBlockIo(int fd) : fd_(fd) {
    // The workers never take a stop signal (SIGINT, SIGTERM, SIGHUP): one
    // delivered to a worker would kill kvmm with its default action instead
    // of reaching the thread that waits for it. main() blocks them before any
    // thread exists; blocked again here, around the thread creation, so a
    // worker inherits the mask whoever builds the engine (a test, a bench).
    // A worker the launcher starts has the launcher's, which blocks them too.
    const sigset_t stop = stop_signals();
    sigset_t previous;
    ::pthread_sigmask(SIG_BLOCK, &stop, &previous);
    try {
      // Through the launcher, where one runs (base/util/thread_launcher.h).
      // Room first: a started thread is never dropped unjoined.
      workers_.reserve(kWorkers);
      for (int i = 0; i < kWorkers; ++i) {
        workers_.push_back(start_thread("blk-worker", [this] { run(); }));
      }
    } catch (...) {
      ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      stop_workers();
      throw;
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }

  // Jobs not started are dropped; those running finish (they may still
  // write into their buffers), and the workers are joined.
  ~ThreadBlockIo() override { stop_workers(); }

  const char* name() const override { return "thread"; }

  void submit(BlockIoRequest request) override {
    {
      std::lock_guard lock(mutex_);
      pending_.emplace_back(std::move(request));
      ++in_flight_;
    }
    wake_.notify_one();
  }

  int completion_fd() const override { return done_fd_.get(); }

  std::vector<BlockIoCompletion> reap() override {
    done_fd_.consume();
    std::lock_guard lock(mutex_);
    std::vector<BlockIoCompletion> out(done_.begin(), done_.end());
    done_.clear();
    in_flight_ -= out.size();
    return out;
  }

  size_t in_flight() const override {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }

  void cancel() override {
    std::lock_guard lock(mutex_);
    if (pending_.empty()) return;
    for (const BlockIoRequest& request : pending_) {
      done_.push_back(BlockIoCompletion{request.tag, -ECANCELED});
    }
    pending_.clear();
    done_fd_.signal();
  }

  void forget_in_flight() override {
    std::lock_guard lock(mutex_);
    pending_.clear();
    done_.clear();
    in_flight_ = 0;
    ++generation_;  // Running jobs' results are dropped when they end.
  }

 private:
  void stop_workers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      pending_.clear();  // Nobody reaps them any more.
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  void run() {
    ::pthread_setname_np(::pthread_self(), "blk-worker");
    on_thread_start(ThreadRole::kBlockWorker);  // fd_ and done_fd_ are open.
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // Stopping, and nothing is left to start.
      // Owns the request and its keep_alive until the system call is over.
      BlockIoOperation op(std::move(pending_.front()));
      pending_.pop_front();
      const uint64_t generation = generation_;
      lock.unlock();
      const int result = run_blocking(fd_, op);
      lock.lock();
      if (generation != generation_) continue;  // Forgotten.
      done_.push_back(BlockIoCompletion{op.tag(), result});
      done_fd_.signal();
    }
  }

  const int fd_;
  EventFd done_fd_;
  mutable std::mutex mutex_;  // Guards pending_, done_, in_flight_, generation_, stopping_.
  std::condition_variable wake_;
  std::deque<BlockIoRequest> pending_;
  std::deque<BlockIoCompletion> done_;
  size_t in_flight_ = 0;
  uint64_t generation_ = 0;  // Counts forget_in_flight() calls.
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

std::unique_ptr<BlockIo> make_thread_block_io(int fd) { return std::make_unique<ThreadBlockIo>(fd); }

}  // namespace kvmm

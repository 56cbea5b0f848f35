// The fallback engine: a few worker threads doing blocking system calls,
// taking requests in submission order. Several, so a slow device (O_DIRECT,
// a real disk) still sees more than one request at a time; ordering between
// requests is the caller's business (BlockRequests holds FLUSH back).
#include <pthread.h>
#include <signal.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/util/event_fd.h"
#include "base/util/stop_signals.h"
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
    const sigset_t stop = stop_signals();
    sigset_t previous;
    ::pthread_sigmask(SIG_BLOCK, &stop, &previous);
    try {
      for (int i = 0; i < kWorkers; ++i) workers_.emplace_back([this] { run(); });
    } catch (...) {
      ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      stop_workers();
      throw;
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }

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

 private:
  void stop_workers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;  // The worker finishes the queue first.
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
      BlockIoOperation op(std::move(pending_.front()));
      pending_.pop_front();
      lock.unlock();
      const int result = run_blocking(fd_, op);
      lock.lock();
      done_.push_back(BlockIoCompletion{op.tag(), result});
      done_fd_.signal();
    }
  }

  const int fd_;
  EventFd done_fd_;
  mutable std::mutex mutex_;  // Guards pending_, done_, in_flight_, stopping_.
  std::condition_variable wake_;
  std::deque<BlockIoRequest> pending_;
  std::deque<BlockIoCompletion> done_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

std::unique_ptr<BlockIo> make_thread_block_io(int fd) { return std::make_unique<ThreadBlockIo>(fd); }

}  // namespace kvmm

#include "devices/virtio/block/virtio_block.h"

#include <poll.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/util/error.h"
#include "base/util/log.h"
#include "devices/virtio/virtqueue.h"

namespace kvmm {

namespace {

// What woke the I/O thread (IoThread sources).
enum Source : uint64_t { kNotifySource, kCompletionSource };

}  // namespace

std::string VirtioBlock::default_serial(const std::string& path) {
  std::error_code ignored;
  std::filesystem::path absolute = std::filesystem::absolute(path, ignored);
  if (absolute.empty()) absolute = path;
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64.
  for (unsigned char c : absolute.string()) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string serial = "kvmm";
  for (int shift = 60; shift >= 0; shift -= 4) serial.push_back(kDigits[(hash >> shift) & 0xf]);
  return serial;
}

VirtioBlock::VirtioBlock(const DiskOptions& options, unsigned index, BlockIoEngine engine)
    : index_(index),
      image_(DiskImage::open(options)),
      log_("virtio-blk" + std::to_string(index) + ": ") {
  info_.sectors = image_.sectors();
  info_.read_only = image_.read_only();
  const std::string serial = options.serial.empty() ? default_serial(options.path) : options.serial;
  std::copy_n(serial.begin(), std::min(serial.size(), info_.id.size()), info_.id.begin());
  info_.max_discard_sectors = kMaxDiscardSectors;
  info_.max_write_zeroes_sectors = kMaxDiscardSectors;
  if (image_.cache() == DiskCache::kNone) info_.buffer_alignment = image_.block_size();

  config_.capacity = info_.sectors;
  config_.seg_max = kSegMax;
  config_.blk_size = image_.block_size();
  config_.max_discard_sectors = kMaxDiscardSectors;
  config_.max_discard_seg = 1;
  config_.discard_sector_alignment = std::max<uint32_t>(1, image_.discard_granularity() / 512);
  config_.max_write_zeroes_sectors = kMaxDiscardSectors;
  config_.max_write_zeroes_seg = 1;
  config_.write_zeroes_may_unmap = 1;  // UNMAP punches a hole (BlockIoOp::kWriteZeroesUnmap).

  io_ = make_block_io(image_.fd(), engine, kQueueSize);
}

VirtioBlock::~VirtioBlock() { reset(); }

uint64_t VirtioBlock::device_features() const {
  uint64_t features = kVirtioFVersion1 | kVirtioFRingIndirectDesc | kVirtioFRingEventIdx |
                      kVirtioBlkFSegMax | kVirtioBlkFBlkSize | kVirtioBlkFFlush;
  if (info_.read_only) {
    features |= kVirtioBlkFRo;
  } else {
    features |= kVirtioBlkFDiscard | kVirtioBlkFWriteZeroes;
  }
  return features;
}

void VirtioBlock::read_config(uint64_t offset, std::span<uint8_t> data) const {
  if (offset >= sizeof(config_)) return;
  const size_t count = std::min<uint64_t>(data.size(), sizeof(config_) - offset);
  std::memcpy(data.data(), reinterpret_cast<const uint8_t*>(&config_) + offset, count);
}

void VirtioBlock::activate(VirtioActivation activation) {
  reset();  // A second DRIVER_OK without a reset would otherwise leak a thread.
  if (activation.queues.size() != 1 || activation.queues[0].queue == nullptr || !activation.interrupt) {
    throw Error("virtio-blk: activated with " + std::to_string(activation.queues.size()) +
                " queues; the transport must hand over exactly one");
  }
  auto thread =
      std::make_unique<IoThread>("virtio-blk" + std::to_string(index_), ThreadRole::kBlockIo);
  thread->watch(activation.queues[0].notify_fd, EPOLLIN, kNotifySource);
  thread->watch(io_->completion_fd(), EPOLLIN, kCompletionSource);
  std::shared_ptr<VirtioInterrupt> interrupt = activation.interrupt;
  if (paused_) thread->pause();  // Starts parked: the VM is paused.
  thread->start(
      [this, activation = std::move(activation)](IoThread& self) mutable {
        run(self, std::move(activation));
      },
      [interrupt] { interrupt->signal_needs_reset(); });
  thread_ = std::move(thread);
}

void VirtioBlock::reset() {
  thread_.reset();  // Stops and joins the I/O thread, parked or not.
}

void VirtioBlock::pause() {
  paused_ = true;
  if (thread_) thread_->pause();
}

void VirtioBlock::resume() {
  paused_ = false;
  if (thread_) thread_->resume();
}

void VirtioBlock::run(IoThread& thread, VirtioActivation activation) {
  Virtqueue& queue = *activation.queues[0].queue;
  const int notify_fd = activation.queues[0].notify_fd;
  VirtioInterrupt& interrupt = *activation.interrupt;
  BlockDiskInfo info = info_;
  info.max_in_flight = queue.config().size;  // Negotiated: at most kQueueSize.
  BlockRequests requests(*io_, info, activation.features, log_);
  RateLimitedLog& log = log_;

  bool broken = false;
  auto break_queue = [&](const std::string& why) {
    log.log("queue broken (" + why + "); the driver must reset the device");
    broken = true;
    interrupt.signal_needs_reset();
  };
  auto complete = [&](const BlockCompletion& done) {
    if (broken) return;
    if (!queue.add_used(done.head, done.used_len)) break_queue("used ring outside guest memory");
  };
  // Before parking for a pause: every request started (held FLUSHes and
  // requests waiting for bounce space too: each reap() submits what it
  // frees) runs to completion and is returned used, so the driver's view is
  // whole and nothing is in flight while the VM is paused. No new request is
  // popped. Bounded by the host's storage, as reset's wait below is.
  constexpr int kSlowMs = 5000;
  auto finish_in_flight = [&] {
    bool used = false;
    while (requests.in_flight() > 0) {
      pollfd done{io_->completion_fd(), POLLIN, 0};
      if (::poll(&done, 1, kSlowMs) == 0) {
        log.log("pause still waits for " + std::to_string(requests.in_flight()) + " requests");
      }
      for (const BlockCompletion& completion : requests.reap()) {
        complete(completion);
        used = true;
      }
    }
    if (used && !broken && queue.needs_notification()) interrupt.signal_used();
  };

  while (true) {
    bool used = false;
    for (const BlockCompletion& done : requests.reap()) {
      complete(done);
      used = true;
    }
    // A notification is consumed before popping, so one arriving mid-batch
    // wakes the next wait. One read takes the whole eventfd count.
    IoThread::drain(notify_fd);
    if (!broken) {
      BlockQueueStep step = start_available(queue, requests, log);
      for (const BlockCompletion& done : step.completed) complete(done);
      used = used || !step.completed.empty();
      if (step.broken) break_queue(*step.broken);
    }
    if (used && !broken && queue.needs_notification()) interrupt.signal_used();

    IoThread::Wake wake = thread.wait();
    if (wake == IoThread::Wake::kPause) {
      finish_in_flight();
      wake = thread.park();
    }
    if (wake == IoThread::Wake::kStop) break;
    if (wake == IoThread::Wake::kFailed) {
      // Logged; the device cannot wait for work any more. In-flight I/O is
      // still waited for below, so nothing touches guest memory after reset().
      interrupt.signal_needs_reset();
      break;
    }
  }

  // reset(): requests never handed to the engine end at once, those in the
  // kernel are cancelled (BlockIo::cancel), and nothing is put in the used
  // ring: the driver is resetting. What the kernel cannot cancel (a disk
  // read already running) gets kResetWaitMs to finish; past that the engine
  // is told to forget it, keeping its bounce buffer until the kernel is
  // done, so the stop takes bounded time.
  if (const size_t left = requests.stop(std::chrono::milliseconds(kResetWaitMs)); left > 0) {
    log.log("reset leaves " + std::to_string(left) +
            " host I/O operations that could not be cancelled to finish in the background");
  }
}

}  // namespace kvmm

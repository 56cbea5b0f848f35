#include "devices/virtio/net/virtio_net.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/util/error.h"
#include "base/util/log.h"
#include "base/util/unique_fd.h"
#include "devices/virtio/virtqueue.h"

namespace kvmm {

class VirtioNet::QueueAdapter : public NetQueue {
 public:
  explicit QueueAdapter(Virtqueue& queue) : queue_(queue) {}
  Virtqueue::PopResult pop() override { return queue_.pop(); }
  bool add_used(uint16_t head, uint32_t written) override { return queue_.add_used(head, written); }
  bool needs_notification() override { return queue_.needs_notification(); }
  bool enable_notification() override { return queue_.enable_notification(); }

 private:
  Virtqueue& queue_;
};

namespace {

// epoll_event.data: which source woke the thread.
enum Source : uint64_t { kStop, kRxNotify, kTxNotify, kTap };

void drain(int eventfd) {
  uint64_t count;
  while (::read(eventfd, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
}

}  // namespace

VirtioNet::VirtioNet(std::unique_ptr<NetBackend> backend, VirtioNetConfig config,
                     std::unique_ptr<VhostNet> vhost)
    : backend_(std::move(backend)), config_(config), vhost_(std::move(vhost)) {}

VirtioNet::~VirtioNet() { reset(); }

uint64_t VirtioNet::device_features() const {
  uint64_t features = kVirtioFVersion1 | kVirtioFRingIndirectDesc | kVirtioFRingEventIdx |
                      kVirtioNetFMac | kVirtioNetFStatus | kVirtioNetFMrgRxbuf;
  if (config_.offloads == NetOffloads::kOn) features |= kVirtioNetOffloadFeatures;
  return vhost_ ? vhost_device_features(features, vhost_->features()) : features;
}

void VirtioNet::read_config(uint64_t offset, std::span<uint8_t> data) const {
  // §5.1.4: mac, status (link always up: the tap is there), and
  // max_virtqueue_pairs, which reads 1 without VIRTIO_NET_F_MQ.
  uint8_t space[kNetConfigSize] = {};
  std::copy(config_.mac.begin(), config_.mac.end(), space + kNetConfigMac);
  space[kNetConfigStatus] = kVirtioNetSLinkUp;
  space[kNetConfigMaxQueuePairs] = 1;
  if (offset >= sizeof(space)) return;
  const size_t n = std::min<size_t>(data.size(), sizeof(space) - offset);
  std::memcpy(data.data(), space + offset, n);
}

void VirtioNet::activate(VirtioActivation activation) {
  reset();
  if (activation.queues.size() != 2 || !activation.interrupt) {
    throw Error("virtio-net: activated with " + std::to_string(activation.queues.size()) +
                " queues, expected 2 (a transport bug)");
  }
  backend_->set_guest_features(activation.features);
  rx_ = std::make_unique<QueueAdapter>(*activation.queues[kNetRxQueue].queue);
  tx_ = std::make_unique<QueueAdapter>(*activation.queues[kNetTxQueue].queue);
  rx_notify_ = activation.queues[kNetRxQueue].notify_fd;
  tx_notify_ = activation.queues[kNetTxQueue].notify_fd;
  interrupt_ = std::move(activation.interrupt);
  if (vhost_) {
    VhostNet::Ring rings[2];
    for (uint16_t i : {kNetRxQueue, kNetTxQueue}) {
      const Virtqueue::Config& q = activation.queues[i].queue->config();
      rings[i] = {q.size, q.desc_table, q.avail_ring, q.used_ring, activation.queues[i].notify_fd,
                  vhost_call_[i].get()};
    }
    vhost_->start(*activation.memory, activation.features, rings, backend_->fd());
    stop_.consume();
    try {
      thread_ = std::thread([this] { run_vhost(); });
    } catch (const std::system_error& e) {
      vhost_->stop();
      throw Error(std::string("virtio-net: cannot start its I/O thread: ") + e.what());
    }
    return;
  }
  const bool mergeable = (activation.features & kVirtioNetFMrgRxbuf) != 0;
  engine_ = std::make_unique<NetEngine>(backend_->fd(), mergeable, *rx_, *tx_, *interrupt_,
                                        counters_);
  stop_.consume();
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    engine_.reset();
    throw Error(std::string("virtio-net: cannot start its I/O thread: ") + e.what());
  }
}

void VirtioNet::reset() {
  // vhost first: once it lets go, nothing signals the I/O thread any more.
  if (vhost_) vhost_->stop();
  if (thread_.joinable()) {
    stop_.signal();
    thread_.join();
  }
  // A packet waiting for RX buffers is dropped with the queues it was for.
  engine_.reset();
  rx_.reset();
  tx_.reset();
  interrupt_.reset();
  rx_notify_ = tx_notify_ = -1;
}

std::string VirtioNet::summary() const {
  if (vhost_) {
    return "virtio-net" + std::to_string(config_.index) + " (" + backend_->describe() +
           ", vhost-net): frames moved by the kernel, not counted by kvmm";
  }
  return "virtio-net" + std::to_string(config_.index) + " (" + backend_->describe() +
         "): " + counters_.summary();
}

void VirtioNet::run() {
  const std::string name = "virtio-net" + std::to_string(config_.index);
  ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());

  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  auto watch = [&](int op, int fd, uint32_t events, Source source) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = source;
    return ::epoll_ctl(epoll.get(), op, fd, &event) == 0;
  };
  const int tap = backend_->fd();
  if (!epoll.valid() || !watch(EPOLL_CTL_ADD, stop_.get(), EPOLLIN, kStop) ||
      !watch(EPOLL_CTL_ADD, rx_notify_, EPOLLIN, kRxNotify) ||
      !watch(EPOLL_CTL_ADD, tx_notify_, EPOLLIN, kTxNotify) ||
      !watch(EPOLL_CTL_ADD, tap, 0, kTap)) {
    log_line(name + ": cannot set up epoll: " + std::strerror(errno) + "; the device stays idle");
    interrupt_->signal_needs_reset();
    return;
  }

  // The driver may have queued buffers and frames before DRIVER_OK.
  bool rx_work = true;
  bool tx_work = true;
  bool tap_watched = true;
  uint32_t tap_events = 0;
  for (;;) {
    if (tx_work) tx_work = engine_->process_tx() == NetEngine::Progress::kMore;
    if (rx_work) rx_work = engine_->process_rx() == NetEngine::Progress::kMore;

    // Level-triggered interest in the tap follows what the engine waits
    // for: no EPOLLIN while the guest has no RX buffers (the tap holds the
    // packets), EPOLLOUT only while a TX frame waits for room.
    const uint32_t wanted = (engine_->wants_tap_readable() ? EPOLLIN : 0u) |
                            (engine_->wants_tap_writable() ? EPOLLOUT : 0u);
    if (tap_watched && wanted != tap_events) {
      if (!watch(EPOLL_CTL_MOD, tap, wanted, kTap)) {
        log_line(name + ": epoll_ctl failed: " + std::strerror(errno));
      }
      tap_events = wanted;
    }

    epoll_event events[4];
    const int n = ::epoll_wait(epoll.get(), events, 4, (rx_work || tx_work) ? 0 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      log_line(name + ": epoll_wait failed: " + std::strerror(errno) + "; the device stops");
      interrupt_->signal_needs_reset();
      return;
    }
    for (int i = 0; i < n; ++i) {
      switch (events[i].data.u64) {
        case kStop:
          return;
        case kRxNotify:
          drain(rx_notify_);
          rx_work = true;
          break;
        case kTxNotify:
          drain(tx_notify_);
          tx_work = true;
          break;
        case kTap:
          if (events[i].events & (EPOLLERR | EPOLLHUP)) {
            // Reported whatever the interest; a tap never hangs up, so this
            // is a backend gone for good: stop watching instead of spinning.
            log_line(name + ": " + backend_->describe() + " failed; no more network traffic");
            ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, tap, nullptr);
            tap_watched = false;
          }
          if (events[i].events & EPOLLIN) rx_work = true;
          if (events[i].events & EPOLLOUT) tx_work = true;
          break;
        default:
          break;
      }
    }
  }
}

void VirtioNet::run_vhost() {
  const std::string name = "virtio-net" + std::to_string(config_.index);
  ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  auto watch = [&](int fd, uint64_t source) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = source;
    return ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &event) == 0;
  };
  if (!epoll.valid() || !watch(stop_.get(), kStop) || !watch(vhost_call_[0].get(), kRxNotify) ||
      !watch(vhost_call_[1].get(), kTxNotify)) {
    log_line(name + ": cannot set up epoll: " + std::strerror(errno) + "; the device stays idle");
    interrupt_->signal_needs_reset();
    return;
  }
  for (;;) {
    epoll_event events[3];
    const int n = ::epoll_wait(epoll.get(), events, 3, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      log_line(name + ": epoll_wait failed: " + std::strerror(errno) + "; the device stops");
      interrupt_->signal_needs_reset();
      return;
    }
    bool used = false;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kStop) return;
      drain(vhost_call_[events[i].data.u64 == kRxNotify ? 0 : 1].get());
      used = true;
    }
    // One interrupt for both queues: the driver's handler looks at both.
    if (used) interrupt_->signal_used();
  }
}

}  // namespace kvmm

#include "devices/virtio/net/virtio_net.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cstring>

#include "base/util/error.h"
#include "base/util/log.h"
#include "devices/virtio/virtqueue.h"

namespace kvmm {

namespace {

// What woke the I/O thread (IoThread sources).
enum Source : uint64_t { kRxNotify, kTxNotify, kTap };

}  // namespace

VirtioNet::VirtioNet(std::unique_ptr<NetBackend> backend, VirtioNetConfig config,
                     std::unique_ptr<VhostNet> vhost)
    : backend_(std::move(backend)),
      config_(config),
      vhost_(std::move(vhost)),
      log_("virtio-net" + std::to_string(config.index) + ": ") {}

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
  rx_ = activation.queues[kNetRxQueue].queue;
  tx_ = activation.queues[kNetTxQueue].queue;
  rx_notify_ = activation.queues[kNetRxQueue].notify_fd;
  tx_notify_ = activation.queues[kNetTxQueue].notify_fd;
  interrupt_ = std::move(activation.interrupt);
  auto thread = std::make_unique<IoThread>("virtio-net" + std::to_string(config_.index),
                                           vhost_ ? ThreadRole::kVhostNetIo : ThreadRole::kNetIo);
  if (vhost_) {
    thread->watch(vhost_call_[kNetRxQueue].get(), EPOLLIN, kRxNotify);
    thread->watch(vhost_call_[kNetTxQueue].get(), EPOLLIN, kTxNotify);
    VhostNet::Ring rings[2];
    for (uint16_t i : {kNetRxQueue, kNetTxQueue}) {
      const Virtqueue::Config& q = activation.queues[i].queue->config();
      rings[i] = {q.size, q.desc_table, q.avail_ring, q.used_ring, activation.queues[i].notify_fd,
                  vhost_call_[i].get()};
    }
    if (paused_) thread->pause();  // Starts parked: the VM is paused.
    vhost_->start(*activation.memory, activation.features, rings, backend_->fd());
    try {
      thread->start([this](IoThread& self) { run_vhost(self); },
                    [interrupt = interrupt_] { interrupt->signal_needs_reset(); });
    } catch (const Error&) {
      vhost_->stop();
      throw;
    }
    thread_ = std::move(thread);
    return;
  }
  thread->watch(rx_notify_, EPOLLIN, kRxNotify);
  thread->watch(tx_notify_, EPOLLIN, kTxNotify);
  thread->watch(backend_->fd(), 0, kTap);  // Interest follows the engine (run()).
  const bool mergeable = (activation.features & kVirtioNetFMrgRxbuf) != 0;
  engine_ = std::make_unique<NetEngine>(backend_->fd(), mergeable, *rx_, *tx_, *interrupt_,
                                        counters_, log_, activation.features);
  if (paused_) thread->pause();  // Starts parked: the VM is paused.
  try {
    thread->start([this](IoThread& self) { run(self); },
                    [interrupt = interrupt_] { interrupt->signal_needs_reset(); });
  } catch (const Error&) {
    engine_.reset();
    throw;
  }
  thread_ = std::move(thread);
}

void VirtioNet::reset() {
  // vhost first: once it lets go, nothing signals the I/O thread any more.
  if (vhost_) vhost_->stop();
  thread_.reset();  // Stops and joins the I/O thread.
  // A packet waiting for RX buffers is dropped with the queues it was for.
  engine_.reset();
  rx_ = tx_ = nullptr;
  interrupt_.reset();
  rx_notify_ = tx_notify_ = -1;
}

void VirtioNet::pause() {
  paused_ = true;
  // vhost first: its worker writes guest memory and then signals the call
  // eventfds, which the parked thread relays only after resume().
  if (vhost_) vhost_->pause();
  if (thread_) thread_->pause();
}

void VirtioNet::resume() {
  paused_ = false;
  if (thread_) thread_->resume();
  if (!vhost_) return;
  try {
    vhost_->resume();  // Attaches nothing when not activated.
  } catch (const Error& error) {
    log_line("virtio-net" + std::to_string(config_.index) + ": " + error.what() +
             "; the device needs a reset by the guest");
    if (interrupt_) interrupt_->signal_needs_reset();
    return;
  }
  if (!thread_) return;
  // vhost consumed the guest's kicks while detached without looking at the
  // rings: one more kick per queue makes it look now.
  for (int notify : {rx_notify_, tx_notify_}) (void)::eventfd_write(notify, 1);
}

std::string VirtioNet::summary() const {
  if (vhost_) {
    return "virtio-net" + std::to_string(config_.index) + " (" + backend_->describe() +
           ", vhost-net): frames moved by the kernel, not counted by kvmm";
  }
  return "virtio-net" + std::to_string(config_.index) + " (" + backend_->describe() +
         "): " + counters_.summary();
}

void VirtioNet::run(IoThread& thread) {
  const int tap = backend_->fd();
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
      if (!thread.modify(tap, wanted, kTap)) {
        interrupt_->signal_needs_reset();
        return;
      }
      tap_events = wanted;
    }

    IoThread::Wake wake = thread.wait((rx_work || tx_work) ? 0 : -1);
    // process_tx() and process_rx() have returned: what is left is at most
    // a frame waiting for RX buffers or tap room, which moves only when
    // this thread runs again, after resume().
    if (wake == IoThread::Wake::kPause) wake = thread.park();
    if (wake == IoThread::Wake::kStop) return;
    if (wake == IoThread::Wake::kFailed) {
      interrupt_->signal_needs_reset();
      return;
    }
    for (const IoThread::Ready& ready : thread.ready()) {
      switch (ready.source) {
        case kRxNotify:
          IoThread::drain(rx_notify_);
          rx_work = true;
          break;
        case kTxNotify:
          IoThread::drain(tx_notify_);
          tx_work = true;
          break;
        case kTap:
          if (ready.events & (EPOLLERR | EPOLLHUP)) {
            // Reported whatever the interest; a tap never hangs up, so this
            // is a backend gone for good: stop watching instead of spinning.
            log_line(thread.name() + ": " + backend_->describe() +
                     " failed; no more network traffic");
            if (!thread.unwatch(tap)) {
              interrupt_->signal_needs_reset();
              return;
            }
            tap_watched = false;
          }
          if (ready.events & EPOLLIN) rx_work = true;
          if (ready.events & EPOLLOUT) tx_work = true;
          break;
        default:
          break;
      }
    }
  }
}

void VirtioNet::run_vhost(IoThread& thread) {
  for (;;) {
    IoThread::Wake wake = thread.wait();
    if (wake == IoThread::Wake::kPause) wake = thread.park();
    if (wake == IoThread::Wake::kStop) return;
    if (wake == IoThread::Wake::kFailed) {
      interrupt_->signal_needs_reset();
      return;
    }
    for (const IoThread::Ready& ready : thread.ready()) {
      IoThread::drain(vhost_call_[ready.source == kRxNotify ? kNetRxQueue : kNetTxQueue].get());
    }
    // One interrupt for both queues: the driver's handler looks at both.
    if (!thread.ready().empty()) interrupt_->signal_used();
  }
}

}  // namespace kvmm

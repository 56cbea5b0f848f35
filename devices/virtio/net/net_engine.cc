#include "devices/virtio/net/net_engine.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>


namespace kvmm {

std::string NetCounters::summary() const {
  return "tx " + std::to_string(tx_frames.load()) + " frames (" + std::to_string(tx_bytes.load()) +
         " bytes, " + std::to_string(tx_dropped.load()) + " dropped), rx " +
         std::to_string(rx_frames.load()) + " frames (" + std::to_string(rx_bytes.load()) +
         " bytes, " + std::to_string(rx_dropped.load()) + " dropped), " +
         std::to_string(bad_chains.load()) + " bad chains";
}

NetEngine::NetEngine(int tap_fd, bool mergeable, Virtqueue& rx, Virtqueue& tx,
                     VirtioInterrupt& interrupt, NetCounters& counters, uint64_t features)
    : NetEngine(tap_fd, mergeable, rx, tx, interrupt, counters,
                std::make_unique<RateLimitedLog>("virtio-net: "), nullptr, features) {}

NetEngine::NetEngine(int tap_fd, bool mergeable, Virtqueue& rx, Virtqueue& tx,
                     VirtioInterrupt& interrupt, NetCounters& counters, RateLimitedLog& log,
                     uint64_t features)
    : NetEngine(tap_fd, mergeable, rx, tx, interrupt, counters, nullptr, &log, features) {}

NetEngine::NetEngine(int tap_fd, bool mergeable, Virtqueue& rx, Virtqueue& tx,
                     VirtioInterrupt& interrupt, NetCounters& counters,
                     std::unique_ptr<RateLimitedLog> own, RateLimitedLog* log, uint64_t features)
    : tap_fd_(tap_fd),
      rx_(rx),
      tx_(tx),
      interrupt_(interrupt),
      counters_(counters),
      packet_(mergeable),
      features_(features),
      own_log_(std::move(own)),
      fault_log_(log != nullptr ? *log : *own_log_) {}

void NetEngine::log_guest_fault(const std::string& what) {
  // A hostile guest can produce these at line rate.
  fault_log_.log(what);
}

void NetEngine::break_device(const std::string& why) {
  fault_log_.log(why + "; the device needs a reset");
  broken_ = true;
  interrupt_.signal_needs_reset();
}

NetEngine::Progress NetEngine::process_tx() {
  Progress progress = Progress::kIdle;
  int chains = 0;
  while (!broken_) {
    if (!tx_has_chain_) {
      if (chains == kBatch) {
        progress = Progress::kMore;
        break;
      }
      Virtqueue::PopResult popped = tx_.pop();
      if (popped.status == Virtqueue::PopStatus::kEmpty) {
        if (tx_.enable_notification()) continue;
        break;
      }
      if (popped.status == Virtqueue::PopStatus::kBroken) {
        break_device("TX queue: " + popped.error);
        break;
      }
      ++chains;
      if (popped.status == Virtqueue::PopStatus::kBadChain) {
        ++counters_.bad_chains;
        ++counters_.tx_dropped;
        log_guest_fault("TX queue: " + popped.error);
        if (!return_used(tx_, popped.chain.head, 0, tx_used_)) break;
        continue;
      }
      const TxCheck check = gather_tx(popped.chain, frame_);
      if (check != TxCheck::kOk) {
        ++counters_.tx_dropped;
        log_guest_fault(tx_check_name(check));
        if (!return_used(tx_, popped.chain.head, 0, tx_used_)) break;
        continue;
      }
      // Guest-controlled: the host kernel must see no offload the driver
      // did not negotiate, nor a GSO type that does not exist.
      if (!sanitize_tx_header(frame_.header, features_)) {
        ++counters_.tx_dropped;
        log_guest_fault("TX header has an unknown GSO type " +
                        std::to_string(frame_.header[kVirtioNetHdrGsoTypeOffset]));
        if (!return_used(tx_, popped.chain.head, 0, tx_used_)) break;
        continue;
      }
      tx_head_ = popped.chain.head;
      tx_has_chain_ = true;
    }

    const ssize_t written = ::writev(tap_fd_, frame_.iov.data(), static_cast<int>(frame_.iov.size()));
    if (written < 0 && errno == EINTR) continue;
    if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The tap's queue is full: keep the chain and wait until it is
      // writable (the guest sees backpressure, nothing is lost).
      tx_waiting_for_tap_ = true;
      break;
    }
    tx_waiting_for_tap_ = false;
    tx_has_chain_ = false;
    if (written < 0) {
      // The kernel refused this frame (e.g. EINVAL for a bad GSO header the
      // guest wrote): the guest's fault, drop it.
      ++counters_.tx_dropped;
      log_guest_fault(std::string("tap refused a TX frame: ") + std::strerror(errno));
    } else {
      ++counters_.tx_frames;
      counters_.tx_bytes += frame_.bytes - kVirtioNetHdrSize;
    }
    // §5.1.6.2: the device writes nothing into a TX chain.
    if (!return_used(tx_, tx_head_, 0, tx_used_)) break;
  }
  notify(tx_, tx_used_);
  return progress;
}

bool NetEngine::return_used(Virtqueue& queue, uint16_t head, uint32_t written, bool& used_flag) {
  if (!queue.add_used(head, written)) {
    break_device(&queue == &rx_ ? "RX used ring outside guest memory"
                                : "TX used ring outside guest memory");
    return false;
  }
  used_flag = true;
  return true;
}

void NetEngine::notify(Virtqueue& queue, bool& used_flag) {
  if (!used_flag) return;
  used_flag = false;
  if (queue.needs_notification()) interrupt_.signal_used();
}

NetEngine::Progress NetEngine::process_rx() {
  Progress progress = Progress::kIdle;
  // Called on an RX notify too: new buffers may be there.
  rx_waiting_for_buffers_ = false;
  int packets = 0;
  while (!broken_) {
    if (!packet_.pending()) {
      if (packets == kBatch) {
        progress = Progress::kMore;
        break;
      }
      const std::span<uint8_t> buffer = packet_.buffer();
      const ssize_t got = ::read(tap_fd_, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          log_guest_fault(std::string("reading the tap failed: ") + std::strerror(errno));
        }
        break;
      }
      if (got == 0) {
        // Only a socket standing in for the tap ends; stop reading it.
        tap_closed_ = true;
        break;
      }
      ++packets;
      if (static_cast<size_t>(got) < kVirtioNetHdrSize) {
        ++counters_.rx_dropped;
        continue;
      }
      packet_.loaded(static_cast<size_t>(got));
    }
    if (!deliver_rx()) break;
  }
  notify(rx_, rx_used_);
  return progress;
}

bool NetEngine::deliver_rx() {
  bool dropped = false;
  for (;;) {
    Virtqueue::PopResult popped = rx_.pop();
    if (popped.status == Virtqueue::PopStatus::kEmpty) {
      if (rx_.enable_notification()) continue;
      // No buffers: the packet waits here and the tap is not read again
      // until the driver adds buffers and notifies (§5.1.6.3).
      rx_waiting_for_buffers_ = true;
      return false;
    }
    if (popped.status == Virtqueue::PopStatus::kBroken) {
      break_device("RX queue: " + popped.error);
      return false;
    }
    if (popped.status == Virtqueue::PopStatus::kBadChain) {
      ++counters_.bad_chains;
      log_guest_fault("RX queue: " + popped.error);
      if (!packet_.holds_chains()) {
        // Nothing of this packet is in the guest yet: try the next chain.
        if (!return_used(rx_, popped.chain.head, 0, rx_used_)) return false;
        continue;
      }
      packet_.drop_with(popped.chain.head);
      dropped = true;
      break;
    }
    const RxPacket::Fill fill = packet_.fill(popped.chain);
    if (fill == RxPacket::Fill::kNeedMore) continue;
    dropped = fill == RxPacket::Fill::kDropped;
    break;
  }
  for (const RxPacket::Used& used : packet_.used()) {
    if (!return_used(rx_, used.head, used.written, rx_used_)) return false;
  }
  if (dropped) {
    ++counters_.rx_dropped;
    log_guest_fault("RX packet of " + std::to_string(packet_.length()) +
                    " bytes did not fit the guest's receive buffers");
  } else {
    ++counters_.rx_frames;
    counters_.rx_bytes += packet_.length() - kVirtioNetHdrSize;
  }
  packet_.clear();
  return true;
}

}  // namespace kvmm

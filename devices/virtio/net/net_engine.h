#pragma once
// virtio-net's data path between two queues and a tap: what the I/O thread
// does when an eventfd or the tap wakes it. No thread and no epoll here, so
// tests drive it step by step: real queues filled by the fake driver, and a
// socketpair for the tap.
//
// Threads: one I/O thread calls everything; the counters are read from any.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/util/rate_limited_log.h"
#include "devices/virtio/net/net_frames.h"
#include "devices/virtio/virtio_device.h"
#include "devices/virtio/virtqueue.h"

namespace kvmm {

// Kept across device resets; printed when kvmm exits.
struct NetCounters {
  std::atomic<uint64_t> tx_frames{0};
  std::atomic<uint64_t> tx_bytes{0};
  std::atomic<uint64_t> tx_dropped{0};  // Refused by the checks or by the tap.
  std::atomic<uint64_t> rx_frames{0};
  std::atomic<uint64_t> rx_bytes{0};
  std::atomic<uint64_t> rx_dropped{0};  // Did not fit the guest's buffers.
  std::atomic<uint64_t> bad_chains{0};  // Malformed chains (either queue).
  // "tx 12 frames (3400 bytes, 0 dropped), rx ..., 0 bad chains".
  std::string summary() const;
};

class NetEngine {
 public:
  // `tap_fd` is non-blocking and keeps packet boundaries (a tap, or a
  // datagram socket in tests); the engine does not own it. `features` are
  // what the driver accepted: each TX header is trimmed to the offloads
  // among them (sanitize_tx_header()); none by default.
  NetEngine(int tap_fd, bool mergeable, Virtqueue& rx, Virtqueue& tx, VirtioInterrupt& interrupt,
            NetCounters& counters, uint64_t features = 0);
  // Logs guest faults to `log`, which must outlive the engine: the device's
  // one limiter for its whole life (an engine lasts one activation, and a
  // driver that resets and re-activates must not get a fresh budget).
  NetEngine(int tap_fd, bool mergeable, Virtqueue& rx, Virtqueue& tx, VirtioInterrupt& interrupt,
            NetCounters& counters, RateLimitedLog& log, uint64_t features = 0);

  enum class Progress {
    kIdle,  // Waits for an eventfd or the tap.
    kMore,  // Stopped after a batch to let the other direction run: call again.
  };
  // TX notify or the tap became writable.
  Progress process_tx();
  // RX notify (new buffers) or the tap became readable.
  Progress process_rx();

  // What the I/O thread waits for on the tap: readable unless the guest has
  // no receive buffers (backpressure: the tap keeps the packets), writable
  // while a TX frame waits for room.
  bool wants_tap_readable() const { return !broken_ && !rx_waiting_for_buffers_ && !tap_closed_; }
  bool wants_tap_writable() const { return !broken_ && tx_waiting_for_tap_; }
  // A queue failed (§2.1.2 DEVICE_NEEDS_RESET was signalled); nothing more
  // happens until the device is reset.
  bool broken() const { return broken_; }

 private:
  // What both public constructors delegate to: `own` is the engine's own
  // log when no device log is given (`log` null).
  NetEngine(int tap_fd, bool mergeable, Virtqueue& rx, Virtqueue& tx, VirtioInterrupt& interrupt,
            NetCounters& counters, std::unique_ptr<RateLimitedLog> own, RateLimitedLog* log,
            uint64_t features);
  // Chains per call before yielding to the other direction.
  static constexpr int kBatch = 64;

  void break_device(const std::string& why);
  void log_guest_fault(const std::string& what);
  // add_used(); false (and the device broken) when the used ring is gone.
  bool return_used(Virtqueue& queue, uint16_t head, uint32_t written, bool& used_flag);
  // §2.7.10: one notification decision per batch.
  void notify(Virtqueue& queue, bool& used_flag);
  bool deliver_rx();  // false: waiting for buffers (or broken).

  int tap_fd_;
  Virtqueue& rx_;
  Virtqueue& tx_;
  VirtioInterrupt& interrupt_;
  NetCounters& counters_;
  RxPacket packet_;
  TxFrame frame_;
  const uint64_t features_;
  bool broken_ = false;
  bool rx_waiting_for_buffers_ = false;
  bool tx_waiting_for_tap_ = false;
  bool tap_closed_ = false;
  bool tx_has_chain_ = false;
  uint16_t tx_head_ = 0;  // The chain in frame_ while tx_has_chain_.
  bool rx_used_ = false;  // add_used() since the last notification check.
  bool tx_used_ = false;
  std::unique_ptr<RateLimitedLog> own_log_;  // Without a device's log (tests).
  RateLimitedLog& fault_log_;
};

}  // namespace kvmm

#pragma once
// virtio-net (virtio 1.2 §5.1) over a tap (or --net user's socketpair,
// slirp_backend.h): one receive and one transmit queue, no control queue.
// The data path (NetEngine) runs on an I/O thread,
// "virtio-net<N>", woken by the queues' notify eventfds and by the tap; or,
// with vhost, in the kernel (VhostNet), and the I/O thread only turns
// vhost's used-buffer signals into interrupts.
//
// Pause: the I/O thread parks between calls into the engine (a frame
// waiting for RX buffers or tap room stays where it is), so neither the
// guest's memory nor the tap sees a byte until resume(); frames arriving on
// the tap meanwhile wait in the tap's queue. With vhost,
// pause() also detaches the tap from vhost's rings (the kernel worker
// finishes the frame in hand and stops) and resume() re-attaches it.
//
// Threads: the VirtioDevice methods run one at a time (the transport's
// mutex); the I/O thread owns the engine between activate() and reset().
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/util/event_fd.h"
#include "base/util/rate_limited_log.h"
#include "devices/virtio/io_thread.h"
#include "devices/virtio/net/net_backend.h"
#include "devices/virtio/net/net_engine.h"
#include "devices/virtio/net/vhost_net.h"
#include "devices/virtio/net/virtio_net_spec.h"
#include "devices/virtio/virtio_device.h"

namespace kvmm {

enum class NetOffloads { kOn, kOff };

struct VirtioNetConfig {
  MacAddress mac{};
  NetOffloads offloads = NetOffloads::kOn;
  unsigned index = 0;  // Names the I/O thread and the summary.
};

class VirtioNet : public VirtioDevice {
 public:
  // With `vhost`, the kernel moves the frames (backend must be a tap).
  VirtioNet(std::unique_ptr<NetBackend> backend, VirtioNetConfig config,
            std::unique_ptr<VhostNet> vhost = nullptr);
  ~VirtioNet() override;
  VirtioNet(const VirtioNet&) = delete;
  VirtioNet& operator=(const VirtioNet&) = delete;

  uint32_t device_id() const override { return 1; }
  uint64_t device_features() const override;
  std::vector<uint16_t> queue_max_sizes() const override { return {kNetQueueSize, kNetQueueSize}; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  void activate(VirtioActivation activation) override;
  void reset() override;
  void pause() override;
  void resume() override;

  const NetCounters& counters() const { return counters_; }
  // "virtio-net0 (tap kvmm-tap0): tx ... frames ...", for kvmm's exit report.
  std::string summary() const;

 private:
  void run(IoThread& thread);
  void run_vhost(IoThread& thread);

  std::unique_ptr<NetBackend> backend_;
  VirtioNetConfig config_;
  std::unique_ptr<VhostNet> vhost_;
  EventFd vhost_call_[2];  // vhost -> I/O thread: used buffers, per queue.
  NetCounters counters_;
  // For the device's whole life, not per activation (see NetEngine).
  RateLimitedLog log_;
  // Between activate() and reset(): what the I/O thread uses.
  Virtqueue* rx_ = nullptr;
  Virtqueue* tx_ = nullptr;
  std::shared_ptr<VirtioInterrupt> interrupt_;
  std::unique_ptr<NetEngine> engine_;
  int rx_notify_ = -1;
  int tx_notify_ = -1;
  std::unique_ptr<IoThread> thread_;
  bool paused_ = false;  // Between pause() and resume(), across activations.
};

}  // namespace kvmm

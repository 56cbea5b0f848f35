#pragma once
// virtio-blk (virtio 1.2 §5.2): one request queue backed by a DiskImage.
//
// Offers VERSION_1, RING_INDIRECT_DESC, RING_EVENT_IDX, SEG_MAX, BLK_SIZE,
// FLUSH, RO for read-only disks, and DISCARD and
// WRITE_ZEROES (one segment per request) for writable ones. GET_ID (the
// serial) needs no feature bit.
//
// Threads: the VirtioDevice methods run on vCPU threads, serialised by the
// transport. activate() starts the I/O thread ("virtio-blkN"), which alone
// uses the queue, the request state and the interrupt until reset() stops it.
// It sleeps in epoll on the queue's notify eventfd, the engine's completion
// eventfd and a stop eventfd. reset() fails requests never handed to the
// kernel at once, cancels those in it, waits at most kResetWaitMs for what
// cannot be cancelled and leaves that to the engine (which keeps its bounce
// buffers until the kernel is done); it puts nothing in the used ring and
// writes no status byte after it returns (a forgotten read still lands in
// guest memory, which lives as long as the VM). pause() parks the I/O thread once every
// request handed to the engine has completed and been returned used; it
// takes nothing from the queue while paused. The image and the I/O engine
// live as long as the device.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "devices/virtio/block/block_io.h"
#include "devices/virtio/block/block_requests.h"
#include "devices/virtio/block/disk_image.h"
#include "devices/virtio/block/disk_options.h"
#include "devices/virtio/io_thread.h"
#include "devices/virtio/virtio_device.h"

namespace kvmm {

// §5.2.4 struct virtio_blk_config, little-endian (as x86 is).
struct VirtioBlkConfig {
  uint64_t capacity;  // 512-byte sectors, whatever blk_size says.
  uint32_t size_max;
  uint32_t seg_max;
  uint16_t cylinders;
  uint8_t heads;
  uint8_t sectors;
  uint32_t blk_size;
  uint8_t physical_block_exp;
  uint8_t alignment_offset;
  uint16_t min_io_size;
  uint32_t opt_io_size;
  uint8_t writeback;
  uint8_t unused0;
  uint16_t num_queues;
  uint32_t max_discard_sectors;
  uint32_t max_discard_seg;
  uint32_t discard_sector_alignment;
  uint32_t max_write_zeroes_sectors;
  uint32_t max_write_zeroes_seg;
  uint8_t write_zeroes_may_unmap;
  uint8_t unused1[3];
  uint32_t max_secure_erase_sectors;
  uint32_t max_secure_erase_seg;
  uint32_t secure_erase_sector_alignment;
};
static_assert(sizeof(VirtioBlkConfig) == 72);
static_assert(offsetof(VirtioBlkConfig, blk_size) == 20);
static_assert(offsetof(VirtioBlkConfig, max_discard_sectors) == 36);
static_assert(offsetof(VirtioBlkConfig, write_zeroes_may_unmap) == 56);

class VirtioBlock final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint32_t kSegMax = kQueueSize - 2;  // Less the header and status descriptors.
  static constexpr uint32_t kMaxDiscardSectors = 1u << 21;  // 1 GiB per request.
  // How long reset() waits for host I/O the kernel cannot cancel.
  static constexpr int kResetWaitMs = 5000;

  // Opens the image (throws Error with a one-line message naming the path
  // and the fix) and starts the I/O engine. `index` names the I/O thread
  // ("virtio-blk<index>") and the log lines.
  explicit VirtioBlock(const DiskOptions& options, unsigned index = 0,
                       BlockIoEngine engine = BlockIoEngine::kAuto);
  ~VirtioBlock() override;

  uint32_t device_id() const override { return 2; }
  uint64_t device_features() const override;
  std::vector<uint16_t> queue_max_sizes() const override { return {kQueueSize}; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  void activate(VirtioActivation activation) override;
  void reset() override;
  void pause() override;
  void resume() override;

  const DiskImage& image() const { return image_; }
  const BlockDiskInfo& info() const { return info_; }
  const char* io_engine_name() const { return io_->name(); }

  // The serial GET_ID reports when none is given: "kvmm" and 16 hex digits
  // of a hash of the image's absolute path, stable across runs.
  static std::string default_serial(const std::string& path);

 private:
  void run(IoThread& thread, VirtioActivation activation);

  const unsigned index_;
  DiskImage image_;
  BlockDiskInfo info_;
  VirtioBlkConfig config_{};
  std::unique_ptr<BlockIo> io_;
  std::unique_ptr<IoThread> thread_;  // From activate() to reset().
  bool paused_ = false;  // Between pause() and resume(), across activations.
  // For the device's whole life, not per activation: a driver that resets
  // and re-activates the device gets no fresh budget of lines. Used by the
  // I/O thread only (and by the destructor, after the thread is gone).
  RateLimitedLog log_;
};

}  // namespace kvmm

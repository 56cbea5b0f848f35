#pragma once
// virtio-net's frame logic on descriptor chains, apart from queues, threads
// and the tap, so it is tested over a GuestMemory alone.
//
// TX: a chain is the 12-byte virtio_net_hdr followed by one Ethernet frame,
// all in device-readable buffers (§5.1.6.2). gather_tx() checks it and builds
// the iovecs for one writev(2) to the tap; the header goes out of a host copy
// so the kernel never parses bytes the guest is still changing.
//
// RX: a packet read from the tap (header + frame) sits in a host buffer
// until it is copied into the guest's receive chains. Reading whole packets
// into a 64 KiB bounce buffer first is one extra copy, but it lets a packet
// wait there while the guest has no buffers (nothing is lost, and the tap is
// not read again until it fits), and it keeps each tap read one read(2).
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "devices/virtio/descriptor_chain.h"
#include "devices/virtio/net/virtio_net_spec.h"

namespace kvmm {

enum class TxCheck {
  kOk,
  kWritableBuffers,  // §5.1.6.2: TX buffers are device-readable only.
  kNoHeader,         // Shorter than the virtio-net header.
  kTooLarge,         // Frame larger than kMaxFrameSize.
};
const char* tx_check_name(TxCheck check);

// One TX chain made ready for writev(2): `header` holds the copied header,
// `iov` points at it and then at the frame bytes in guest memory.
struct TxFrame {
  std::array<uint8_t, kVirtioNetHdrSize> header{};
  std::vector<iovec> iov;
  size_t bytes = 0;  // Header + frame.
};

// Checks `chain` (guest-controlled) and fills `frame`. `frame` is reused
// across calls to save allocations.
TxCheck gather_tx(const DescriptorChain& chain, TxFrame& frame);

// Makes a copied TX header (guest-controlled) claim no more than the driver
// negotiated, before the host kernel parses it: the tap acts on
// NEEDS_CSUM and on any GSO type whatever the features say. Without
// VIRTIO_NET_F_CSUM the flags and checksum fields become 0; a GSO type
// whose HOST_TSO4/HOST_TSO6 (and HOST_ECN for the ECN bit) was not
// negotiated, or any other type (UDP: HOST_UFO is never offered), becomes
// GSO_NONE with hdr_len and gso_size 0 (§5.1.6.2: "The driver MUST NOT set
// ... unless ... negotiated"). num_buffers becomes 0 (§5.1.6.2).
// Returns false, and leaves the header alone, for a GSO type §5.1.6 does
// not define (not NONE, TCPV4, UDP or TCPV6, with or without ECN): a broken
// header, whose frame is dropped like any malformed chain.
[[nodiscard]] bool sanitize_tx_header(std::span<uint8_t, kVirtioNetHdrSize> header,
                                      uint64_t features);

// One received packet on its way into the guest's RX chains (§5.1.6.3-4).
class RxPacket {
 public:
  struct Used {
    uint16_t head;
    uint32_t written;
  };
  enum class Fill {
    kNeedMore,  // Mergeable: the packet needs another chain.
    kDone,      // Delivered: return used() to the driver.
    kDropped,   // Could not be delivered: return used() (all length 0).
  };

  explicit RxPacket(bool mergeable) : mergeable_(mergeable), buffer_(kMaxPacketSize) {}

  // Where the tap read goes; then loaded(bytes read).
  std::span<uint8_t> buffer() { return buffer_; }
  void loaded(size_t bytes);
  bool pending() const { return length_ > 0; }
  size_t length() const { return length_; }

  // Copies the next part of the packet into `chain` (guest-controlled).
  Fill fill(const DescriptorChain& chain);
  // Whether chains are held for this packet (a merged packet in progress).
  bool holds_chains() const { return !used_.empty(); }
  // The queue returned a malformed chain for this packet: it is dropped, the
  // chains it holds are returned empty.
  void drop_with(uint16_t head);
  // What to put in the used ring, in order, after kDone or kDropped.
  const std::vector<Used>& used() const { return used_; }
  // Ready for the next packet.
  void clear();

 private:
  Fill drop(uint16_t head);
  Fill drop_held();

  bool mergeable_;
  std::vector<uint8_t> buffer_;
  size_t length_ = 0;  // Bytes of the packet (header included); 0: none.
  size_t copied_ = 0;  // Bytes already in guest chains.
  std::vector<Used> used_;
  ChainBuffers first_chain_;  // Where num_buffers goes.
};

}  // namespace kvmm

#include "devices/virtio/net/net_frames.h"

#include <algorithm>
#include <cstring>

#include "devices/virtio/chain_io.h"

namespace kvmm {

const char* tx_check_name(TxCheck check) {
  switch (check) {
    case TxCheck::kOk: return "ok";
    case TxCheck::kWritableBuffers: return "TX chain has device-writable buffers";
    case TxCheck::kNoHeader: return "TX chain shorter than the 12-byte virtio-net header";
    case TxCheck::kTooLarge: return "TX frame larger than 64 KiB plus an Ethernet header";
  }
  return "?";
}

TxCheck gather_tx(const DescriptorChain& chain, TxFrame& frame) {
  frame.iov.clear();
  frame.bytes = 0;
  // §5.1.6.2: the driver places the header and the packet in readable
  // buffers only; a writable one is a driver bug we refuse rather than guess.
  if (!chain.writable.empty()) return TxCheck::kWritableBuffers;
  if (chain.readable_bytes < kVirtioNetHdrSize) return TxCheck::kNoHeader;
  if (chain.readable_bytes - kVirtioNetHdrSize > kMaxFrameSize) return TxCheck::kTooLarge;

  frame.iov.push_back({frame.header.data(), frame.header.size()});
  size_t header_left = kVirtioNetHdrSize;
  for (const ChainBuffer& buffer : chain.readable) {
    std::span<uint8_t> bytes = buffer.host;
    // Copy the header out: the guest can rewrite it while the tap parses it.
    const size_t n = std::min(header_left, bytes.size());
    std::memcpy(frame.header.data() + (kVirtioNetHdrSize - header_left), bytes.data(), n);
    header_left -= n;
    bytes = bytes.subspan(n);
    if (!bytes.empty()) frame.iov.push_back({bytes.data(), bytes.size()});
  }
  // The tap ignores num_buffers on transmit (§5.1.6.2: the driver sets it to 0).
  frame.bytes = chain.readable_bytes;
  return TxCheck::kOk;
}

bool sanitize_tx_header(std::span<uint8_t, kVirtioNetHdrSize> header, uint64_t features) {
  auto zero16 = [&](size_t offset) { header[offset] = header[offset + 1] = 0; };
  uint8_t& gso_type = header[kVirtioNetHdrGsoTypeOffset];
  const uint8_t base = gso_type & static_cast<uint8_t>(~kVirtioNetHdrGsoEcn);
  if (base != kVirtioNetHdrGsoNone && base != kVirtioNetHdrGsoTcpv4 &&
      base != kVirtioNetHdrGsoUdp && base != kVirtioNetHdrGsoTcpv6) {
    return false;
  }
  // §5.1.6.2: only NEEDS_CSUM is the driver's to set, and only with CSUM.
  uint8_t& flags = header[kVirtioNetHdrFlagsOffset];
  flags = (features & kVirtioNetFCsum) != 0 ? flags & kVirtioNetHdrFNeedsCsum : 0;
  if (flags == 0) {
    zero16(kVirtioNetHdrCsumStartOffset);
    zero16(kVirtioNetHdrCsumOffsetOffset);
  }
  const bool ecn = (gso_type & kVirtioNetHdrGsoEcn) != 0;
  const bool allowed = (base == kVirtioNetHdrGsoTcpv4 && (features & kVirtioNetFHostTso4) != 0) ||
                       (base == kVirtioNetHdrGsoTcpv6 && (features & kVirtioNetFHostTso6) != 0);
  if (!allowed || (ecn && (features & kVirtioNetFHostEcn) == 0)) {
    gso_type = kVirtioNetHdrGsoNone;
    zero16(kVirtioNetHdrHdrLenOffset);
    zero16(kVirtioNetHdrGsoSizeOffset);
  }
  zero16(kVirtioNetHdrNumBuffersOffset);
  return true;
}

void RxPacket::loaded(size_t bytes) {
  length_ = std::min(bytes, buffer_.size());
  copied_ = 0;
  used_.clear();
  first_chain_.clear();
}

void RxPacket::clear() {
  length_ = 0;
  copied_ = 0;
  used_.clear();
  first_chain_.clear();
}

RxPacket::Fill RxPacket::drop(uint16_t head) {
  used_.push_back({head, 0});
  return drop_held();
}

RxPacket::Fill RxPacket::drop_held() {
  // Length 0 is what the driver discards without looking (Linux counts it
  // as an rx length error and recycles the buffer).
  for (Used& used : used_) used.written = 0;
  first_chain_.clear();
  return Fill::kDropped;
}

void RxPacket::drop_with(uint16_t head) { drop(head); }

RxPacket::Fill RxPacket::fill(const DescriptorChain& chain) {
  // §5.1.6.3: receive buffers are device-writable only. Guest-controlled.
  if (!chain.readable.empty()) return drop(chain.head);
  const bool first = used_.empty();
  if (first) {
    // §5.1.6.3.1: without MRG_RXBUF one buffer holds the whole packet; with
    // it, every buffer holds at least the header.
    const size_t need = mergeable_ ? kVirtioNetHdrSize : length_;
    if (chain.writable_bytes < need) return drop(chain.head);
    // §5.1.6.4: num_buffers is 1 unless merged; the tap leaves it undefined.
    buffer_[kVirtioNetHdrNumBuffersOffset] = 1;
    buffer_[kVirtioNetHdrNumBuffersOffset + 1] = 0;
  } else if (chain.writable_bytes == 0) {
    return drop(chain.head);
  }

  ChainWriter writer(chain.writable);
  const size_t n =
      writer.write_some(std::span<const uint8_t>(buffer_).subspan(copied_, length_ - copied_));
  copied_ += n;
  used_.push_back({chain.head, static_cast<uint32_t>(n)});
  if (first) first_chain_ = chain.writable;
  if (copied_ < length_) {
    // Each chain held here is one the driver cannot refill: a packet that
    // needs more than a queue's worth of (tiny) buffers never completes.
    if (used_.size() >= kNetQueueSize) return drop_held();
    return Fill::kNeedMore;
  }

  if (used_.size() > 1) {
    // §5.1.6.4.2: num_buffers counts the chains this packet spans (at most
    // kNetQueueSize, see above).
    const uint16_t count = static_cast<uint16_t>(used_.size());
    uint8_t le[2] = {static_cast<uint8_t>(count), static_cast<uint8_t>(count >> 8)};
    // The first chain holds at least the header (checked when it came).
    ChainWriter header(first_chain_);
    const bool fits = header.skip(kVirtioNetHdrNumBuffersOffset) && header.write(le);
    static_cast<void>(fits);
  }
  first_chain_.clear();
  return Fill::kDone;
}

}  // namespace kvmm

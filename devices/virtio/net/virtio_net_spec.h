#pragma once
// virtio-net's wire formats and feature bits (virtio 1.2 §5.1).
#include <array>
#include <cstddef>
#include <cstdint>

namespace kvmm {

using MacAddress = std::array<uint8_t, 6>;

// §5.1.3 feature bits.
inline constexpr uint64_t kVirtioNetFCsum = 1ull << 0;         // Device accepts partial checksums.
inline constexpr uint64_t kVirtioNetFGuestCsum = 1ull << 1;    // Driver accepts partial checksums.
inline constexpr uint64_t kVirtioNetFMac = 1ull << 5;
inline constexpr uint64_t kVirtioNetFGuestTso4 = 1ull << 7;
inline constexpr uint64_t kVirtioNetFGuestTso6 = 1ull << 8;
inline constexpr uint64_t kVirtioNetFGuestEcn = 1ull << 9;
inline constexpr uint64_t kVirtioNetFHostTso4 = 1ull << 11;
inline constexpr uint64_t kVirtioNetFHostTso6 = 1ull << 12;
inline constexpr uint64_t kVirtioNetFHostEcn = 1ull << 13;
inline constexpr uint64_t kVirtioNetFMrgRxbuf = 1ull << 15;
inline constexpr uint64_t kVirtioNetFStatus = 1ull << 16;

// Everything that asks the tap to handle or deliver partial checksums and
// segmentation offloads; `--net ...,offload=off` offers none of them.
inline constexpr uint64_t kVirtioNetOffloadFeatures =
    kVirtioNetFCsum | kVirtioNetFGuestCsum | kVirtioNetFGuestTso4 | kVirtioNetFGuestTso6 |
    kVirtioNetFGuestEcn | kVirtioNetFHostTso4 | kVirtioNetFHostTso6 | kVirtioNetFHostEcn;

// §5.1.6: struct virtio_net_hdr. With VERSION_1 num_buffers is always
// present, so the header is 12 bytes in both directions (§5.1.6.1); Linux's
// tap takes and gives the same layout (TUNSETVNETHDRSZ 12), little-endian.
inline constexpr size_t kVirtioNetHdrSize = 12;
inline constexpr size_t kVirtioNetHdrNumBuffersOffset = 10;
inline constexpr uint8_t kVirtioNetHdrGsoNone = 0;
// §5.1.6 field offsets and values the device checks on transmit.
inline constexpr size_t kVirtioNetHdrFlagsOffset = 0;       // u8
inline constexpr size_t kVirtioNetHdrGsoTypeOffset = 1;     // u8
inline constexpr size_t kVirtioNetHdrHdrLenOffset = 2;      // le16
inline constexpr size_t kVirtioNetHdrGsoSizeOffset = 4;     // le16
inline constexpr size_t kVirtioNetHdrCsumStartOffset = 6;   // le16
inline constexpr size_t kVirtioNetHdrCsumOffsetOffset = 8;  // le16
inline constexpr uint8_t kVirtioNetHdrFNeedsCsum = 1;
inline constexpr uint8_t kVirtioNetHdrGsoTcpv4 = 1;
inline constexpr uint8_t kVirtioNetHdrGsoUdp = 3;
inline constexpr uint8_t kVirtioNetHdrGsoTcpv6 = 4;
inline constexpr uint8_t kVirtioNetHdrGsoEcn = 0x80;

// The largest frame either direction carries: 64 KiB of GSO payload plus an
// Ethernet header (14 bytes), after the virtio-net header.
inline constexpr size_t kMaxFrameSize = 65536 + 14;
inline constexpr size_t kMaxPacketSize = kVirtioNetHdrSize + kMaxFrameSize;

// §5.1.4 device configuration layout (offsets into config space).
inline constexpr uint64_t kNetConfigMac = 0;             // u8[6]
inline constexpr uint64_t kNetConfigStatus = 6;          // le16, with VIRTIO_NET_F_STATUS
inline constexpr uint64_t kNetConfigMaxQueuePairs = 8;   // le16
inline constexpr uint64_t kNetConfigSize = 10;
inline constexpr uint16_t kVirtioNetSLinkUp = 1;

// §5.1.2: receiveq1 is queue 0, transmitq1 queue 1 (no control queue).
inline constexpr uint16_t kNetRxQueue = 0;
inline constexpr uint16_t kNetTxQueue = 1;
inline constexpr uint16_t kNetQueueSize = 256;

}  // namespace kvmm

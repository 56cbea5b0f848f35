#pragma once
// The compressed kernel inside a bzImage, decompressed on the host: the
// formats the kernel's own decompressor knows (arch/x86/boot/compressed/
// Makefile), told apart by their magic numbers, each through its Debian
// library (liblzma, zlib, libzstd, liblz4). The payload is file content:
// every decoder stops at `max_output` bytes and at the end of its input, so
// a hostile image costs at most that much memory and time.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmm {

enum class PayloadFormat { kXz, kGzip, kZstd, kLz4, kLzma, kBzip2, kLzo, kUnknown };

// "xz", "gzip", ...: for messages and the boot trace.
std::string_view payload_format_name(PayloadFormat format);

// By the first bytes: xz FD 37 7A 58 5A 00, gzip 1F 8B, zstd 28 B5 2F FD,
// lz4 legacy 02 21 4C 18, lzma 5D 00 00, bzip2 "BZh", lzo 89 "LZO".
PayloadFormat detect_payload_format(std::span<const uint8_t> payload);

struct DecompressResult {
  enum class Status {
    kOk,
    kUnsupported,  // A format kvmm does not decode on the host (lzma, bzip2, lzo, unknown).
    kCorrupt,      // The decoder refused the data, or it ended early.
    kTooLarge,     // The output would pass max_output.
  };
  Status status = Status::kCorrupt;
  PayloadFormat format = PayloadFormat::kUnknown;
  std::vector<uint8_t> data;  // The decompressed bytes (kOk only).
  std::string reason;         // One phrase saying why not (not kOk).
};

// Decompresses the one compressed stream at the start of `payload`; bytes
// after its end (the build appends the decompressed size, 4 bytes) are
// ignored. Never throws for bad data: the result says what went wrong.
DecompressResult decompress_payload(std::span<const uint8_t> payload, uint64_t max_output);

}  // namespace kvmm

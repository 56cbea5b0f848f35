#include "vmm/boot/linux/payload_decompress.h"

#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>

namespace kvmm {

namespace {

using Status = DecompressResult::Status;

// xz in the kernel uses a dictionary of at most 32 MiB (scripts/xz_wrap.sh);
// liblzma needs a little more than the dictionary to decode.
constexpr uint64_t kXzMemoryLimit = 128ull << 20;
// The lz4 legacy frame: blocks of at most 8 MiB of output (lib/
// decompress_unlz4.c, LZ4_DEFAULT_UNCOMPRESSED_CHUNK_SIZE).
constexpr uint32_t kLz4LegacyMagic = 0x184c2102;
constexpr size_t kLz4LegacyBlock = 8u << 20;
// zstd's default window limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT, 128 MiB): the
// kernel's own decoder accepts no more.
constexpr int kZstdWindowLogMax = 27;

struct Magic {
  PayloadFormat format;
  std::string_view bytes;
};

// arch/x86/boot/compressed/Makefile: the suffixes a bzImage's payload can have.
constexpr std::array<Magic, 7> kMagics = {{
    {PayloadFormat::kXz, std::string_view("\xfd\x37\x7a\x58\x5a\x00", 6)},
    {PayloadFormat::kGzip, std::string_view("\x1f\x8b", 2)},
    {PayloadFormat::kZstd, std::string_view("\x28\xb5\x2f\xfd", 4)},
    {PayloadFormat::kLz4, std::string_view("\x02\x21\x4c\x18", 4)},
    {PayloadFormat::kLzma, std::string_view("\x5d\x00\x00", 3)},
    {PayloadFormat::kBzip2, std::string_view("BZh", 3)},
    {PayloadFormat::kLzo, std::string_view("\x89LZO", 4)},
}};

// The output, grown as the decoder asks, never past max_output + 1 bytes:
// the extra byte tells "exactly max_output" from "more than max_output".
class Output {
 public:
  Output(uint64_t max_output, uint64_t size_hint)
      : limit_(std::min<uint64_t>(max_output, std::numeric_limits<size_t>::max() - 1) + 1) {
    data_.resize(static_cast<size_t>(std::clamp<uint64_t>(size_hint + 1, 1, limit_)));
  }
  // Room after `used` bytes, grown when none is left; empty at the limit.
  std::span<uint8_t> room(size_t used) {
    if (used == data_.size() && data_.size() < limit_) {
      const uint64_t grown = std::max<uint64_t>(data_.size() * 2, 1 << 20);
      data_.resize(static_cast<size_t>(std::min<uint64_t>(grown, limit_)));
    }
    return std::span(data_).subspan(used);
  }
  bool over(size_t used) const { return used >= limit_; }
  std::vector<uint8_t> take(size_t used) {
    data_.resize(used);
    data_.shrink_to_fit();
    return std::move(data_);
  }

 private:
  uint64_t limit_;
  std::vector<uint8_t> data_;
};

DecompressResult failure(Status status, std::string reason) {
  DecompressResult result;
  result.status = status;
  result.reason = std::move(reason);
  return result;
}

DecompressResult too_large(uint64_t max_output) {
  return failure(Status::kTooLarge,
                 "it decompresses to more than " + std::to_string(max_output) + " bytes");
}

DecompressResult success(Output& output, size_t used) {
  if (used == 0) return failure(Status::kCorrupt, "it decompresses to nothing");
  DecompressResult result;
  result.status = Status::kOk;
  result.data = output.take(used);
  return result;
}

DecompressResult decompress_xz(std::span<const uint8_t> in, Output& output, uint64_t max_output) {
  lzma_stream stream = LZMA_STREAM_INIT;
  // Without LZMA_CONCATENATED the decoder stops at the end of the first
  // stream, before the size the build appends.
  if (lzma_stream_decoder(&stream, kXzMemoryLimit, 0) != LZMA_OK) {
    return failure(Status::kCorrupt, "liblzma cannot start a decoder");
  }
  const std::unique_ptr<lzma_stream, void (*)(lzma_stream*)> owner(&stream, lzma_end);
  stream.next_in = in.data();
  stream.avail_in = in.size();
  size_t used = 0;
  for (;;) {
    const std::span<uint8_t> room = output.room(used);
    if (room.empty()) return too_large(max_output);
    stream.next_out = room.data();
    stream.avail_out = room.size();
    const lzma_ret ret = lzma_code(&stream, LZMA_FINISH);
    used += room.size() - stream.avail_out;
    if (output.over(used)) return too_large(max_output);
    if (ret == LZMA_STREAM_END) return success(output, used);
    if (ret == LZMA_MEMLIMIT_ERROR) {
      return failure(Status::kCorrupt, "its xz dictionary needs more than 128 MiB");
    }
    if (ret != LZMA_OK) {
      return failure(Status::kCorrupt, ret == LZMA_BUF_ERROR ? "its xz stream ends early"
                                                             : "its xz stream is corrupt");
    }
  }
}

DecompressResult decompress_gzip(std::span<const uint8_t> in, Output& output,
                                 uint64_t max_output) {
  if (in.size() > std::numeric_limits<uInt>::max()) {
    return failure(Status::kCorrupt, "its gzip stream is larger than zlib takes at once");
  }
  z_stream stream{};
  // 16 + MAX_WBITS: a gzip header and trailer, not a zlib one.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
    return failure(Status::kCorrupt, "zlib cannot start a decoder");
  }
  const std::unique_ptr<z_stream, int (*)(z_stream*)> owner(&stream, inflateEnd);
  stream.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct.
  stream.avail_in = static_cast<uInt>(in.size());
  size_t used = 0;
  for (;;) {
    std::span<uint8_t> room = output.room(used);
    if (room.empty()) return too_large(max_output);
    room = room.first(std::min<size_t>(room.size(), std::numeric_limits<uInt>::max()));
    stream.next_out = room.data();
    stream.avail_out = static_cast<uInt>(room.size());
    const int ret = inflate(&stream, Z_NO_FLUSH);
    used += room.size() - stream.avail_out;
    if (output.over(used)) return too_large(max_output);
    if (ret == Z_STREAM_END) return success(output, used);
    if (ret == Z_BUF_ERROR && stream.avail_in == 0) {
      return failure(Status::kCorrupt, "its gzip stream ends early");
    }
    if (ret != Z_OK && ret != Z_BUF_ERROR) {
      return failure(Status::kCorrupt, "its gzip stream is corrupt");
    }
  }
}

DecompressResult decompress_zstd(std::span<const uint8_t> in, Output& output,
                                 uint64_t max_output) {
  const std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context(ZSTD_createDCtx(),
                                                                  ZSTD_freeDCtx);
  if (!context ||
      ZSTD_isError(ZSTD_DCtx_setParameter(context.get(), ZSTD_d_windowLogMax, kZstdWindowLogMax))) {
    return failure(Status::kCorrupt, "libzstd cannot start a decoder");
  }
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t used = 0;
  for (;;) {
    const std::span<uint8_t> room = output.room(used);
    if (room.empty()) return too_large(max_output);
    ZSTD_outBuffer out{room.data(), room.size(), 0};
    const size_t ret = ZSTD_decompressStream(context.get(), &out, &input);
    used += out.pos;
    if (output.over(used)) return too_large(max_output);
    if (ZSTD_isError(ret)) {
      return failure(Status::kCorrupt,
                     std::string("its zstd stream is corrupt (") + ZSTD_getErrorName(ret) + ")");
    }
    if (ret == 0) return success(output, used);  // The frame is complete.
    // No progress with input left and room to write: the frame ends early.
    if (input.pos == input.size && out.pos < out.size) {
      return failure(Status::kCorrupt, "its zstd stream ends early");
    }
  }
}

// The legacy lz4 frame (lz4 -l): the magic, then blocks, each a 32-bit
// little-endian compressed size and the block; the magic may repeat. The
// kernel build appends the 4-byte decompressed size, which is left over here.
DecompressResult decompress_lz4(std::span<const uint8_t> in, Output& output,
                                uint64_t max_output) {
  std::vector<uint8_t> block(kLz4LegacyBlock);
  const auto read_le32 = [&](size_t at) {
    uint32_t value;
    std::memcpy(&value, in.data() + at, sizeof value);
    return value;
  };
  size_t pos = 4;  // Past the magic, which detect_payload_format() checked.
  size_t used = 0;
  while (in.size() - pos >= 4) {
    const uint32_t size = read_le32(pos);
    pos += 4;
    if (size == kLz4LegacyMagic) continue;
    if (pos == in.size()) break;  // Those were the appended 4 bytes.
    if (size > static_cast<uint32_t>(LZ4_compressBound(static_cast<int>(kLz4LegacyBlock)))) {
      return failure(Status::kCorrupt, "its lz4 block of " + std::to_string(size) +
                                           " bytes is larger than a legacy block can be");
    }
    if (size > in.size() - pos) return failure(Status::kCorrupt, "its lz4 stream ends early");
    const int produced =
        LZ4_decompress_safe(reinterpret_cast<const char*>(in.data() + pos),
                            reinterpret_cast<char*>(block.data()), static_cast<int>(size),
                            static_cast<int>(block.size()));
    if (produced < 0) return failure(Status::kCorrupt, "its lz4 stream is corrupt");
    pos += size;
    size_t copied = 0;
    while (copied < static_cast<size_t>(produced)) {
      const std::span<uint8_t> room = output.room(used);
      if (room.empty()) return too_large(max_output);
      const size_t n = std::min(room.size(), static_cast<size_t>(produced) - copied);
      std::memcpy(room.data(), block.data() + copied, n);
      copied += n;
      used += n;
      if (output.over(used)) return too_large(max_output);
    }
  }
  return success(output, used);
}

}  // namespace

std::string_view payload_format_name(PayloadFormat format) {
  switch (format) {
    case PayloadFormat::kXz: return "xz";
    case PayloadFormat::kGzip: return "gzip";
    case PayloadFormat::kZstd: return "zstd";
    case PayloadFormat::kLz4: return "lz4";
    case PayloadFormat::kLzma: return "lzma";
    case PayloadFormat::kBzip2: return "bzip2";
    case PayloadFormat::kLzo: return "lzo";
    case PayloadFormat::kUnknown: break;
  }
  return "unknown";
}

PayloadFormat detect_payload_format(std::span<const uint8_t> payload) {
  for (const Magic& magic : kMagics) {
    if (payload.size() >= magic.bytes.size() &&
        std::memcmp(payload.data(), magic.bytes.data(), magic.bytes.size()) == 0) {
      return magic.format;
    }
  }
  return PayloadFormat::kUnknown;
}

DecompressResult decompress_payload(std::span<const uint8_t> payload, uint64_t max_output) {
  const PayloadFormat format = detect_payload_format(payload);
  // The build appends the decompressed size (scripts/Makefile.lib,
  // size_append): a hint for the first allocation, bounded by max_output
  // like everything else from the file.
  uint32_t size_hint = 0;
  if (payload.size() >= 4) std::memcpy(&size_hint, payload.data() + payload.size() - 4, 4);
  Output output(max_output, size_hint);
  DecompressResult result;
  switch (format) {
    case PayloadFormat::kXz: result = decompress_xz(payload, output, max_output); break;
    case PayloadFormat::kGzip: result = decompress_gzip(payload, output, max_output); break;
    case PayloadFormat::kZstd: result = decompress_zstd(payload, output, max_output); break;
    case PayloadFormat::kLz4: result = decompress_lz4(payload, output, max_output); break;
    case PayloadFormat::kLzma:
    case PayloadFormat::kBzip2:
    case PayloadFormat::kLzo:
      result = failure(Status::kUnsupported, "kvmm does not decompress " +
                                                 std::string(payload_format_name(format)) +
                                                 " on the host");
      break;
    case PayloadFormat::kUnknown:
      result = failure(Status::kUnsupported, "its compression format is unknown");
      break;
  }
  result.format = format;
  return result;
}

}  // namespace kvmm

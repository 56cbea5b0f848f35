#include "devices/virtio/chain_io.h"

#include <cstring>

namespace kvmm {

namespace {

uint64_t total_bytes(std::span<const ChainBuffer> buffers) {
  uint64_t total = 0;
  for (const ChainBuffer& b : buffers) total += b.host.size();  // pop() checked the sum.
  return total;
}

}  // namespace

ChainCursor::ChainCursor(std::span<const ChainBuffer> buffers)
    : buffers_(buffers), remaining_(total_bytes(buffers)) {
  settle();
}

void ChainCursor::settle() {
  while (index_ < buffers_.size() && offset_ == buffers_[index_].host.size()) {
    ++index_;
    offset_ = 0;
  }
}

bool ChainReader::read(std::span<uint8_t> out) {
  uint8_t* dest = out.data();
  return cursor_.advance(out.size(), [&](const uint8_t* src, uint64_t len) {
    std::memcpy(dest, src, len);
    dest += len;
  });
}

bool ChainReader::skip(uint64_t count) {
  return cursor_.advance(count, [](const uint8_t*, uint64_t) {});
}

bool ChainWriter::write(std::span<const uint8_t> in) {
  const uint8_t* src = in.data();
  return cursor_.advance(in.size(), [&](uint8_t* dest, uint64_t len) {
    std::memcpy(dest, src, len);
    src += len;
  });
}

size_t ChainWriter::write_some(std::span<const uint8_t> in) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), cursor_.remaining()));
  const bool written = write(in.first(n));
  static_cast<void>(written);  // n fits by construction.
  return n;
}

bool ChainWriter::skip(uint64_t count) {
  return cursor_.advance(count, [](uint8_t*, uint64_t) {});
}

std::optional<std::vector<iovec>> iovecs_for(std::span<const ChainBuffer> buffers, uint64_t offset,
                                             uint64_t length) {
  ChainCursor cursor(buffers);
  std::vector<iovec> out;
  // Each step first checks that its bytes remain, so offset + length is
  // never computed and cannot wrap.
  if (!cursor.advance(offset, [](uint8_t*, uint64_t) {}) ||
      !cursor.advance(length, [&](uint8_t* piece, uint64_t len) {
        out.push_back(iovec{piece, static_cast<size_t>(len)});
      })) {
    return std::nullopt;
  }
  return out;
}

}  // namespace kvmm

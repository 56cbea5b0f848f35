#include "devices/virtio/chain_io.h"

#include <algorithm>
#include <cstring>

namespace kvmm {

namespace {

// Walks `count` bytes forward from (index, offset), calling visit(ptr, len)
// for each contiguous piece. The caller has checked that `count` bytes remain.
template <typename Visit>
void walk(std::span<const ChainBuffer> buffers, size_t& index, uint64_t& offset, uint64_t count,
          Visit visit) {
  while (count > 0) {
    const std::span<uint8_t> host = buffers[index].host;
    const uint64_t piece = std::min<uint64_t>(count, host.size() - offset);
    visit(host.data() + offset, piece);
    count -= piece;
    offset += piece;
    if (offset == host.size()) {
      ++index;
      offset = 0;
    }
  }
}

// Steps over buffers that are already exhausted (or empty), so index_ always
// names a buffer with bytes left while any remain.
void settle(std::span<const ChainBuffer> buffers, size_t& index, uint64_t& offset) {
  while (index < buffers.size() && offset == buffers[index].host.size()) {
    ++index;
    offset = 0;
  }
}

}  // namespace

uint64_t total_bytes(std::span<const ChainBuffer> buffers) {
  uint64_t total = 0;
  for (const ChainBuffer& b : buffers) total += b.host.size();  // pop() checked the sum.
  return total;
}

ChainReader::ChainReader(std::span<const ChainBuffer> buffers)
    : buffers_(buffers), remaining_(total_bytes(buffers)) {
  settle(buffers_, index_, offset_);
}

bool ChainReader::read(std::span<uint8_t> out) {
  if (out.size() > remaining_) return false;
  uint8_t* dest = out.data();
  walk(buffers_, index_, offset_, out.size(), [&](const uint8_t* src, uint64_t len) {
    std::memcpy(dest, src, len);
    dest += len;
  });
  settle(buffers_, index_, offset_);
  remaining_ -= out.size();
  consumed_ += out.size();
  return true;
}

bool ChainReader::skip(uint64_t count) {
  if (count > remaining_) return false;
  walk(buffers_, index_, offset_, count, [](const uint8_t*, uint64_t) {});
  settle(buffers_, index_, offset_);
  remaining_ -= count;
  consumed_ += count;
  return true;
}

ChainWriter::ChainWriter(std::span<const ChainBuffer> buffers)
    : buffers_(buffers), remaining_(total_bytes(buffers)) {
  settle(buffers_, index_, offset_);
}

bool ChainWriter::write(std::span<const uint8_t> in) {
  if (in.size() > remaining_) return false;
  const uint8_t* src = in.data();
  walk(buffers_, index_, offset_, in.size(), [&](uint8_t* dest, uint64_t len) {
    std::memcpy(dest, src, len);
    src += len;
  });
  settle(buffers_, index_, offset_);
  remaining_ -= in.size();
  written_ += in.size();
  return true;
}

size_t ChainWriter::write_some(std::span<const uint8_t> in) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), remaining_));
  const bool written = write(in.first(n));
  static_cast<void>(written);  // n fits by construction.
  return n;
}

bool ChainWriter::skip(uint64_t count) {
  if (count > remaining_) return false;
  walk(buffers_, index_, offset_, count, [](uint8_t*, uint64_t) {});
  settle(buffers_, index_, offset_);
  remaining_ -= count;
  written_ += count;
  return true;
}

std::optional<std::vector<iovec>> iovecs_for(std::span<const ChainBuffer> buffers, uint64_t offset,
                                             uint64_t length) {
  const uint64_t total = total_bytes(buffers);
  if (offset > total || length > total - offset) return std::nullopt;
  std::vector<iovec> out;
  for (const ChainBuffer& b : buffers) {
    if (length == 0) break;
    const uint64_t size = b.host.size();
    if (offset >= size) {
      offset -= size;
      continue;
    }
    const uint64_t piece = std::min(length, size - offset);
    out.push_back(iovec{b.host.data() + offset, static_cast<size_t>(piece)});
    length -= piece;
    offset = 0;
  }
  return out;
}

}  // namespace kvmm

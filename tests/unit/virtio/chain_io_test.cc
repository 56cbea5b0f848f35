#include "devices/virtio/chain_io.h"

#include <catch2/catch.hpp>

#include "tests/unit/virtio/block_test_support.h"

using namespace kvmm;
using namespace kvmm::testing;

namespace {
GuestMemory guest() {
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, 1 << 20);
  return memory;
}
}  // namespace

TEST_CASE("chain reader reads objects across buffer boundaries") {
  GuestMemory memory = guest();
  ChainBuilder builder(memory);
  builder.readable({1, 2, 3}).readable({}).readable({4, 5}).readable({6, 7, 8, 9});
  ChainReader reader(builder.chain().readable);
  CHECK(reader.remaining() == 9);
  const auto word = reader.read_obj<uint32_t>();
  REQUIRE(word.has_value());
  CHECK(*word == 0x04030201u);
  CHECK(reader.skip(1));
  Bytes rest(4);
  CHECK(reader.read(rest));
  CHECK(rest == Bytes{6, 7, 8, 9});
  CHECK(reader.remaining() == 0);
  CHECK(reader.consumed() == 9);
  CHECK_FALSE(reader.read_obj<uint8_t>().has_value());
}

TEST_CASE("chain reader refuses a read longer than what remains and consumes nothing") {
  GuestMemory memory = guest();
  ChainBuilder builder(memory);
  builder.readable({1, 2, 3});
  ChainReader reader(builder.chain().readable);
  CHECK_FALSE(reader.read_obj<uint32_t>().has_value());
  CHECK_FALSE(reader.skip(4));
  CHECK(reader.remaining() == 3);
  CHECK(reader.read_obj<uint8_t>() == std::optional<uint8_t>(1));
}

TEST_CASE("chain writer fills writable buffers in order and counts bytes") {
  GuestMemory memory = guest();
  ChainBuilder builder(memory);
  builder.writable(2).writable(3);
  ChainWriter writer(builder.chain().writable);
  CHECK(writer.write_obj(uint16_t{0x0201}));
  CHECK(writer.write(Bytes{3, 4}));
  CHECK_FALSE(writer.write(Bytes{5, 6}));
  CHECK(writer.write(Bytes{5}));
  CHECK(writer.written() == 5);
  CHECK(builder.written(0) == Bytes{1, 2});
  CHECK(builder.written(1) == Bytes{3, 4, 5});
}

TEST_CASE("iovecs cover a byte range of the buffers") {
  GuestMemory memory = guest();
  ChainBuilder builder(memory);
  builder.readable(Bytes(16, 1)).readable(Bytes(100, 2)).readable(Bytes(50, 3));
  const auto& buffers = builder.chain().readable;
  const auto iov = iovecs_for(buffers, 16, 150);
  REQUIRE(iov.has_value());
  REQUIRE(iov->size() == 2);
  CHECK((*iov)[0].iov_base == buffers[1].host.data());
  CHECK((*iov)[0].iov_len == 100);
  CHECK((*iov)[1].iov_len == 50);
  const auto middle = iovecs_for(buffers, 10, 10);
  REQUIRE(middle.has_value());
  REQUIRE(middle->size() == 2);
  CHECK((*middle)[0].iov_base == buffers[0].host.data() + 10);
  CHECK((*middle)[0].iov_len == 6);
  CHECK((*middle)[1].iov_len == 4);
  CHECK_FALSE(iovecs_for(buffers, 160, 7).has_value());
  CHECK_FALSE(iovecs_for(buffers, UINT64_MAX, 2).has_value());
  CHECK(iovecs_for(buffers, 166, 0)->empty());
}

TEST_CASE("a chain longer than the inline buffers spills to the heap and reads the same") {
  GuestMemory memory = guest();
  ChainBuilder builder(memory);
  Bytes expected;
  for (uint8_t i = 0; i < ChainBuffers::kInline + 3; ++i) {
    builder.readable({i, static_cast<uint8_t>(i + 100)});
    expected.insert(expected.end(), {i, static_cast<uint8_t>(i + 100)});
  }
  const ChainBuffers& buffers = builder.chain().readable;
  REQUIRE(buffers.size() == ChainBuffers::kInline + 3);
  CHECK(buffers.back().host[1] == ChainBuffers::kInline + 2 + 100);
  ChainBuffers copy = buffers;  // A copy owns its own heap list.
  ChainReader reader(copy);
  Bytes all(expected.size());
  CHECK(reader.read(all));
  CHECK(all == expected);
  copy.clear();
  CHECK(copy.empty());
  copy.push_back(buffers.front());
  CHECK(copy.size() == 1);
  CHECK(copy[0].host.data() == buffers[0].host.data());
}
